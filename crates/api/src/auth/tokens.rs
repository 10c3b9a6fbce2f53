use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;

/// Claims of an access token: the key it stands for and its role at issue time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenClaims {
    pub sub: String,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
}

/// Issues and verifies HS256 access tokens with SECRET_KEY.
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    lifetime_minutes: i64,
}

impl TokenService {
    pub fn new(secret: &[u8], lifetime_minutes: i64) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            lifetime_minutes,
        }
    }

    pub fn lifetime_seconds(&self) -> i64 {
        self.lifetime_minutes * 60
    }

    pub fn issue(&self, principal: &Principal) -> Result<String, jsonwebtoken::errors::Error> {
        let now = Utc::now().timestamp();
        let claims = TokenClaims {
            sub: principal.key_id.to_string(),
            role: principal.role.as_str().to_owned(),
            iat: now,
            exp: now + self.lifetime_seconds(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The key id of a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Option<i64> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        let data = decode::<TokenClaims>(token, &self.decoding, &validation).ok()?;
        data.claims.sub.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use procdash_domain::api_key::Role;

    #[test]
    fn tokens_round_trip_and_reject_other_secrets() {
        let service = TokenService::new(b"a-very-secret-key-for-tests-only", 30);
        let p = Principal {
            key_id: 9,
            name: "k".into(),
            role: Role::User,
            via_token: false,
        };
        let token = service.issue(&p).unwrap();
        assert_eq!(service.verify(&token), Some(9));
        let other = TokenService::new(b"another-secret-key-for-tests-only", 30);
        assert_eq!(other.verify(&token), None);
        assert_eq!(service.verify("not.a.token"), None);
        let expired = TokenService::new(b"a-very-secret-key-for-tests-only", -1);
        assert_eq!(service.verify(&expired.issue(&p).unwrap()), None);
    }
}
