//! Webhook authentication, every comparison in constant time
//! (`hmac::Mac::verify_slice` for signatures, `subtle` for tokens).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// `hex(HMAC-SHA256(secret, body))`: what senders sign with.
pub fn hmac_sha256_hex(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn verify_hex(secret: &[u8], body: &[u8], hex_sig: &str) -> bool {
    let Ok(sig) = hex::decode(hex_sig.trim()) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// GitHub `X-Hub-Signature-256: sha256=<hex>`; also Jira's
/// `X-Hub-Signature`, which has the same form.
pub fn verify_sha256_header(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    match header.and_then(|h| h.trim().strip_prefix("sha256=")) {
        Some(sig) => verify_hex(secret, body, sig),
        None => false,
    }
}

/// PagerDuty `X-PagerDuty-Signature: v1=<hex>,v1=<hex>`: valid when any
/// `v1` signature matches (PagerDuty signs with every active secret during a
/// rotation).
pub fn verify_pagerduty(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(header) = header else {
        return false;
    };
    // Check every candidate, so timing does not reveal which one matched.
    header
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .fold(false, |ok, sig| verify_hex(secret, body, sig) | ok)
}

/// A shared token (GitLab `X-Gitlab-Token`), compared in constant time.
pub fn verify_token(expected: &str, given: Option<&str>) -> bool {
    match given {
        Some(given) => {
            bool::from(expected.as_bytes().ct_eq(given.as_bytes())) && !expected.is_empty()
        }
        None => false,
    }
}

/// `Authorization: Bearer <token>` (Opsgenie, generic events).
pub fn verify_bearer(expected: &str, authorization: Option<&str>) -> bool {
    let token = authorization.and_then(|h| {
        let h = h.trim();
        let (scheme, rest) = h.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    });
    verify_token(expected, token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(verify_token("s3cret", Some("s3cret")));
        assert!(!verify_token("s3cret", Some("s3cre")));
        assert!(!verify_token("s3cret", Some("s3cret ")));
        assert!(!verify_token("s3cret", None));
        assert!(!verify_token("", Some("")));
        assert!(verify_bearer("t", Some("Bearer t")));
        assert!(verify_bearer("t", Some("bearer  t")));
        assert!(!verify_bearer("t", Some("Basic t")));
        assert!(!verify_bearer("t", Some("Bearer")));
        assert!(!verify_bearer("t", None));
    }

    #[test]
    fn signatures() {
        let sig = format!("sha256={}", hmac_sha256_hex(b"k", b"body"));
        assert!(verify_sha256_header(b"k", b"body", Some(&sig)));
        assert!(!verify_sha256_header(b"k", b"body2", Some(&sig)));
        assert!(!verify_sha256_header(b"k2", b"body", Some(&sig)));
        assert!(!verify_sha256_header(b"k", b"body", Some(&sig[7..])));
        assert!(!verify_sha256_header(b"k", b"body", Some("sha256=zz")));
        assert!(!verify_sha256_header(b"k", b"body", None));
        let good = hmac_sha256_hex(b"k", b"body");
        let header = format!("v1=00ff,v1={good}");
        assert!(verify_pagerduty(b"k", b"body", Some(&header)));
        assert!(!verify_pagerduty(b"k", b"body", Some("v1=00ff")));
        assert!(!verify_pagerduty(
            b"k",
            b"body",
            Some(&format!("v0={good}"))
        ));
    }
}
