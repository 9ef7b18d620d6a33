//! Passwords hashed with argon2id, and the random secrets of sessions, tokens
//! and setup, kept only as their SHA-256.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Shortest password an account may have.
pub const MIN_PASSWORD: usize = 10;

/// Longest password accepted: hashing is slow on purpose, so a huge one is refused unread.
pub const MAX_PASSWORD: usize = 1024;

pub fn check_password_rules(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(format!("the password must have at least {MIN_PASSWORD} characters"));
    }
    if password.len() > MAX_PASSWORD {
        return Err(format!("the password must have at most {MAX_PASSWORD} bytes"));
    }
    Ok(())
}

/// An argon2id PHC string with a fresh salt, at the crate's default cost (19 MiB, 2 passes).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string()).unwrap_or_default()
}

/// A hash no password matches, verified for unknown users so that their
/// answer takes as long as a wrong password's. Made at start-up (see
/// `Auth::new`), so the first unknown name costs no extra hashing.
pub fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_secret()))
}

/// Whether `password` matches `stored`; with no stored hash, the decoy is checked and false returned.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    let hash = stored.unwrap_or_else(|| decoy_hash());
    let matched = PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok());
    matched && stored.is_some()
}

/// 32 random bytes, URL-safe base64: a session cookie, a token, a setup key.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API token: `np_` and a random secret.
pub fn new_token() -> String {
    format!("np_{}", random_secret())
}

/// When a token made at `now_ms` to last `days` stops working; `Err` says the bounds.
pub fn token_expiry(days: Option<f64>, now_ms: i64) -> Result<Option<i64>, String> {
    match days {
        None => Ok(None),
        Some(days) if days > 0.0 && days <= 3650.0 => Ok(Some(now_ms + (days * 86_400_000.0) as i64)),
        Some(days) => Err(format!("must be above 0 and at most 3650, got {days}")),
    }
}

/// How a secret is stored and looked up. Secrets are 256 random bits, so a
/// fast hash is enough; passwords get argon2id.
pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The CSP source for an inline script: `'sha256-…'`.
pub fn script_hash(script: &str) -> String {
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", Some(&hash)));
        assert!(!verify_password("correct horse batterY", Some(&hash)));
        assert!(!verify_password("correct horse battery", None), "an unknown user never signs in");
        assert!(!verify_password("x", Some("not a hash")));
        assert_ne!(hash_password("same"), hash_password("same"), "each hash has its own salt");
    }

    #[test]
    fn password_rules_and_secrets() {
        assert!(check_password_rules("short").unwrap_err().contains("at least 10"));
        assert!(check_password_rules(&"x".repeat(2000)).is_err());
        assert!(check_password_rules("long enough!").is_ok());
        let (a, b) = (random_secret(), random_secret());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(digest(&a).len(), 32);
        assert_eq!(script_hash("alert(1)"), "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='");
    }
}
