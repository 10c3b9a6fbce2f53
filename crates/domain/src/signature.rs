//! The webhook signature: `Procdash-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `"<t>.<body>"` with the webhook's secret. The timestamp inside the signed text lets a
//! receiver refuse replays of old deliveries.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header value for `body` signed at `unix_seconds`.
pub fn sign(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    format!(
        "t={unix_seconds},v1={}",
        hex::encode(mac(secret, unix_seconds, body))
    )
}

fn mac(secret: &str, unix_seconds: i64, body: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length, so new_from_slice cannot fail here.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return Vec::new();
    };
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Checks a header value in constant time; `now` and `tolerance` bound the timestamp.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (now - t).abs() > tolerance {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&v1).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_a_changed_body_does_not() {
        let header = sign("whsec_x", 1_700_000_000, b"{\"a\":1}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify("whsec_x", &header, b"{\"a\":1}", 1_700_000_010, 300));
        assert!(!verify(
            "whsec_x",
            &header,
            b"{\"a\":2}",
            1_700_000_010,
            300
        ));
        assert!(!verify(
            "whsec_y",
            &header,
            b"{\"a\":1}",
            1_700_000_010,
            300
        ));
        assert!(!verify(
            "whsec_x",
            &header,
            b"{\"a\":1}",
            1_700_001_000,
            300
        ));
    }
}
