//! Opaque cursors for keyset paging. A cursor is `base64url(payload).check`: the payload holds
//! the position (sort key value and id of the last row) and a fingerprint of the route, filters
//! and sort it belongs to; the check value is a SHA-256 over the payload, keyed with SECRET_KEY
//! when one is set (so instances sharing it accept each other's cursors). A malformed or altered
//! cursor, or one used with other filters or another sort, is a 400.

use actix_web::HttpRequest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use procdash_domain::Position;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

/// Query parameters that move through a listing without changing what it lists.
const PAGING_PARAMS: [&str; 3] = ["page", "size", "cursor"];
const CHECK_HEX: usize = 32;

#[derive(Serialize, Deserialize)]
struct Payload {
    #[serde(rename = "p")]
    position: Position,
    #[serde(rename = "f")]
    fingerprint: String,
}

/// The route and every parameter except the paging ones, order-independent.
pub fn fingerprint(req: &HttpRequest) -> String {
    let mut params: Vec<(String, String)> =
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .filter(|(k, _)| !PAGING_PARAMS.contains(&k.as_ref()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    params.sort();
    let mut hasher = Sha256::new();
    hasher.update(req.path().trim_end_matches('/').as_bytes());
    for (k, v) in params {
        hasher.update([0]);
        hasher.update(k.as_bytes());
        hasher.update([1]);
        hasher.update(v.as_bytes());
    }
    hex::encode(&hasher.finalize()[..12])
}

fn check(key: &[u8], payload: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"procdash-cursor-v1");
    hasher.update(key);
    hasher.update(payload.as_bytes());
    hex::encode(hasher.finalize())[..CHECK_HEX].to_owned()
}

pub fn encode(position: Position, fingerprint: String, key: &[u8]) -> String {
    let payload = Payload {
        position,
        fingerprint,
    };
    let json = serde_json::to_vec(&payload).unwrap_or_default();
    let body = URL_SAFE_NO_PAD.encode(json);
    let check = check(key, &body);
    format!("{body}.{check}")
}

fn malformed() -> ApiError {
    ApiError::BadRequest("cursor is malformed or was altered".into())
}

/// The position of a cursor issued for this request's route, filters and sort.
pub fn decode(token: &str, fingerprint: &str, key: &[u8]) -> ApiResult<Position> {
    let (body, given) = token.split_once('.').ok_or_else(malformed)?;
    let expected = check(key, body);
    if given.len() != expected.len()
        || !bool::from(subtle::ConstantTimeEq::ct_eq(
            given.as_bytes(),
            expected.as_bytes(),
        ))
    {
        return Err(malformed());
    }
    let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| malformed())?;
    let payload: Payload = serde_json::from_slice(&json).map_err(|_| malformed())?;
    if payload.fingerprint != fingerprint {
        return Err(ApiError::BadRequest(
            "cursor belongs to other filters or another sort; start again without it".into(),
        ));
    }
    Ok(payload.position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use serde_json::json;

    fn position() -> Position {
        Position {
            key: json!("2026-01-01T00:00:00Z"),
            id: 42,
        }
    }

    #[test]
    fn round_trips_and_refuses_alterations() {
        let token = encode(position(), "fp".into(), b"k");
        assert_eq!(decode(&token, "fp", b"k").ok(), Some(position()));
        assert!(decode(&token, "other", b"k").is_err());
        assert!(decode(&token, "fp", b"other key").is_err());
        let mut altered = token.clone().into_bytes();
        altered[3] = if altered[3] == b'A' { b'B' } else { b'A' };
        assert!(decode(&String::from_utf8_lossy(&altered), "fp", b"k").is_err());
        assert!(decode("garbage", "fp", b"k").is_err());
        assert!(decode("", "fp", b"k").is_err());
    }

    #[test]
    fn fingerprint_ignores_paging_and_order_of_parameters() {
        let a = TestRequest::get()
            .uri("/api/v1/runs/?status=failed&process_id=1&page=2&size=5")
            .to_http_request();
        let b = TestRequest::get()
            .uri("/api/v1/runs?process_id=1&status=failed&cursor=x")
            .to_http_request();
        let c = TestRequest::get()
            .uri("/api/v1/runs/?process_id=1&status=completed")
            .to_http_request();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
