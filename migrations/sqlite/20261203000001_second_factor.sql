-- A second factor is a TOTP secret (base32; an authenticator app needs it as
-- is, so it cannot be hashed), the secret being set up, and the last time step
-- a code was used for, so no code works twice.
ALTER TABLE account_user ADD COLUMN totp_secret TEXT;
ALTER TABLE account_user ADD COLUMN totp_pending TEXT;
ALTER TABLE account_user ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
