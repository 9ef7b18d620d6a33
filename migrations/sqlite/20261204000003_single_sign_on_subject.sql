-- The provider's issuer and subject (`iss` and `sub`, joined by a space) of a
-- single sign-on account: the person it belongs to, whatever name they later take.
ALTER TABLE account_user ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX account_user_by_oidc_subject ON account_user (oidc_subject) WHERE oidc_subject IS NOT NULL;
