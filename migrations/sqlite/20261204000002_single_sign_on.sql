-- How an account signs in: 'password', or 'oidc' for one made by single
-- sign-on, whose password_hash is empty and whose role the provider sets.
ALTER TABLE account_user ADD COLUMN signs_in_with TEXT NOT NULL DEFAULT 'password';
