//! Time-based one-time codes (RFC 6238, as authenticator apps make them) for
//! the optional second sign-in factor: new secrets, the `otpauth://` address
//! and QR code an app scans, and checking that a code is right and unused.

use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds each code lasts.
pub const STEP: u64 = 30;
const DIGITS: usize = 6;

/// What an authenticator app needs to add the account.
pub struct Enrolment {
    /// The secret in base32, for typing in by hand.
    pub secret: String,
    /// The `otpauth://totp/…` address the QR code holds.
    pub url: String,
    /// The QR code as an SVG element.
    pub qr_svg: String,
}

/// Written by hand: the secret is never in logs.
impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment([redacted])")
    }
}

/// A new secret of 160 random bits (RFC 4226's recommended length), in base32.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

fn generator(secret: &str, issuer: &str, account: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().ok()?;
    // The otpauth format separates issuer and account with ':', so neither may hold one.
    let issuer = issuer.replace(':', " ");
    TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP, bytes, Some(issuer), account.replace(':', " ")).ok()
}

/// The address and QR code for `secret`, labelled with `issuer` (this netpulse) and `account`.
pub fn enrolment(secret: &str, issuer: &str, account: &str) -> Option<Enrolment> {
    let url = generator(secret, issuer, account)?.get_url();
    let qr = qrcode::QrCode::new(url.as_bytes()).ok()?;
    let qr_svg = qr.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build();
    // The renderer writes an XML declaration first; inside HTML only the <svg> element belongs.
    let qr_svg = qr_svg.find("<svg").map_or(qr_svg.clone(), |start| qr_svg[start..].to_owned());
    Some(Enrolment { secret: secret.to_owned(), url, qr_svg })
}

/// The time step `code` was made for, when it is right for the step of
/// `now_secs` or one either side (clocks drift) and later than `last_step`,
/// so that a code, once used, never works again.
pub fn verify(secret: &str, code: &str, now_secs: u64, last_step: i64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = generator(secret, "netpulse", "check")?;
    let now_step = now_secs / STEP;
    let mut found = None;
    // Every candidate is compared, in constant time, whichever matches.
    for step in [now_step.saturating_sub(1), now_step, now_step + 1] {
        let expected = totp.generate(step * STEP);
        let step = i64::try_from(step).ok()?;
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && step > last_step {
            found = Some(step);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's appendix B secret, "12345678901234567890", in base32.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn codes_match_the_rfc_vectors() {
        // Appendix B lists 8-digit SHA-1 codes; the 6 digits apps show are their last six.
        assert_eq!(verify(RFC_SECRET, "287082", 59, 0), Some(1));
        assert_eq!(verify(RFC_SECRET, "081804", 1_111_111_109, 0), Some(37_037_036));
        assert_eq!(verify(RFC_SECRET, "050471", 1_111_111_111, 0), Some(37_037_037));
        assert_eq!(verify(RFC_SECRET, "005924", 1_234_567_890, 0), Some(41_152_263));
    }

    #[test]
    fn a_code_works_once_and_only_near_its_time() {
        assert_eq!(verify(RFC_SECRET, "287 082", 59 + 30, 0), Some(1), "a step late is allowed, spaces too");
        assert_eq!(verify(RFC_SECRET, "287082", 59 + 90, 0), None, "three steps late is not");
        assert_eq!(verify(RFC_SECRET, "287082", 59, 1), None, "a used step is refused");
        assert_eq!(verify(RFC_SECRET, "28708", 59, 0), None);
        assert_eq!(verify(RFC_SECRET, "abcdef", 59, 0), None);
        assert_eq!(verify("not base32!", "287082", 59, 0), None);
    }

    #[test]
    fn enrolment_gives_a_scannable_address() {
        let secret = new_secret();
        assert_eq!(secret.len(), 32, "160 bits in base32");
        let enrolment = enrolment(&secret, "netpulse home:lab", "ada").unwrap();
        assert!(enrolment.url.starts_with("otpauth://totp/netpulse%20home%20lab:ada?"), "{}", enrolment.url);
        assert!(enrolment.url.contains(&format!("secret={secret}")), "{}", enrolment.url);
        assert!(enrolment.qr_svg.starts_with("<svg") && enrolment.qr_svg.ends_with("</svg>"));
        assert_eq!(format!("{enrolment:?}"), "Enrolment([redacted])");
    }
}
