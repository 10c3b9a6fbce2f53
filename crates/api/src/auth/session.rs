//! Browser sessions for the web dashboard: a short-lived value signed with HMAC-SHA256 that names
//! the API key it was opened with (never the key itself). The key is looked up again on every
//! request, through the same cached [`KeyStore`](crate::auth::KeyStore) the API uses, so a
//! revoked, disabled or expired key ends its sessions.

use std::time::Duration;

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::auth::{AuthFailure, Principal};
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "procdash_session";
/// How long a session lives after sign-in.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);

type HmacSha256 = Hmac<Sha256>;

/// A verified session: which key, until when, and the nonce its CSRF token is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub key_id: i64,
    pub expires_at: i64,
    nonce: String,
}

/// Signs and verifies sessions and their CSRF tokens.
pub struct SessionService {
    secret: Vec<u8>,
    /// Signed with a random key made at start-up: sessions end with the process.
    pub ephemeral: bool,
}

fn random_hex(bytes: usize) -> Option<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).ok()?;
    Some(hex::encode(buf))
}

impl SessionService {
    /// Uses SECRET_KEY when it is set, or else a random per-process key.
    pub fn new(secret: Option<&[u8]>) -> Self {
        match secret {
            Some(s) => Self {
                secret: s.to_vec(),
                ephemeral: false,
            },
            None => {
                let mut buf = vec![0u8; 32];
                // Without randomness the key stays empty, and `sign` refuses to sign or verify
                // anything: no sign-in is possible rather than one with a guessable key.
                let ok = getrandom::fill(&mut buf).is_ok();
                Self {
                    secret: if ok { buf } else { Vec::new() },
                    ephemeral: true,
                }
            }
        }
    }

    fn sign(&self, payload: &str) -> Option<String> {
        if self.secret.is_empty() {
            return None;
        }
        let mut mac = HmacSha256::new_from_slice(&self.secret).ok()?;
        mac.update(payload.as_bytes());
        Some(hex::encode(mac.finalize().into_bytes()))
    }

    /// A new session for a key: the cookie value.
    pub fn issue(&self, key_id: i64, now: DateTime<Utc>) -> Option<String> {
        let expires_at = now.timestamp() + SESSION_LIFETIME.as_secs() as i64;
        let nonce = random_hex(16)?;
        let payload = format!("{key_id}.{expires_at}.{nonce}");
        let sig = self.sign(&payload)?;
        Some(format!("{payload}.{sig}"))
    }

    /// The session a cookie value stands for, if it is intact and not expired.
    pub fn verify(&self, value: &str, now: DateTime<Utc>) -> Option<Session> {
        let (payload, sig) = value.rsplit_once('.')?;
        let expected = self.sign(payload)?;
        if !bool::from(expected.as_bytes().ct_eq(sig.as_bytes())) {
            return None;
        }
        let mut parts = payload.splitn(3, '.');
        let key_id = parts.next()?.parse().ok()?;
        let expires_at: i64 = parts.next()?.parse().ok()?;
        let nonce = parts.next()?.to_owned();
        (expires_at > now.timestamp()).then_some(Session {
            key_id,
            expires_at,
            nonce,
        })
    }

    /// The CSRF token of a session (synchronizer token bound to the session's nonce).
    pub fn csrf_token(&self, session: &Session) -> Option<String> {
        self.sign(&format!("csrf.{}", session.nonce))
    }

    /// Whether a submitted CSRF token belongs to the session.
    pub fn csrf_matches(&self, session: &Session, submitted: &str) -> bool {
        self.csrf_token(session)
            .is_some_and(|t| bool::from(t.as_bytes().ct_eq(submitted.as_bytes())))
    }
}

/// The session cookie of a request, verified, with the key it names still usable.
pub async fn principal_from_cookie(
    req: &HttpRequest,
    state: &AppState,
) -> Result<(Principal, Session), AuthFailure> {
    let cookie = req.cookie(SESSION_COOKIE).ok_or(AuthFailure::Missing)?;
    let session = state
        .sessions
        .verify(cookie.value(), Utc::now())
        .ok_or(AuthFailure::InvalidToken)?;
    let mut principal = state.keys.authenticate_id(session.key_id).await?;
    // A session is a token-like credential: it cannot mint tokens.
    principal.via_token = true;
    Ok((principal, session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_verifies_until_it_expires_and_not_when_altered() {
        let s = SessionService::new(Some(b"secret"));
        let now = Utc::now();
        let value = s.issue(7, now).unwrap();
        let session = s.verify(&value, now).unwrap();
        assert_eq!(session.key_id, 7);
        let later = now + chrono::Duration::seconds(SESSION_LIFETIME.as_secs() as i64 + 1);
        assert!(s.verify(&value, later).is_none());
        let forged = value.replacen("7.", "8.", 1);
        assert!(s.verify(&forged, now).is_none());
        let other = SessionService::new(Some(b"other"));
        assert!(other.verify(&value, now).is_none());
    }

    #[test]
    fn the_csrf_token_is_bound_to_the_session() {
        let s = SessionService::new(None);
        let now = Utc::now();
        let a = s.verify(&s.issue(1, now).unwrap(), now).unwrap();
        let b = s.verify(&s.issue(1, now).unwrap(), now).unwrap();
        let token = s.csrf_token(&a).unwrap();
        assert!(s.csrf_matches(&a, &token));
        assert!(!s.csrf_matches(&b, &token));
        assert!(!s.csrf_matches(&a, ""));
    }
}
