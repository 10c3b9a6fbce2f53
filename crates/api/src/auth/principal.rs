use procdash_domain::api_key::Role;
use procdash_persistence::Actor;

/// The authenticated caller: an API key, presented directly or through a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub key_id: i64,
    pub name: String,
    pub role: Role,
    /// Authenticated through a bearer token rather than the key itself.
    pub via_token: bool,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor::api_key(self.key_id, &self.name)
    }
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Malformed,
    Invalid,
    Expired,
    InvalidToken,
    /// The key store could not be read (database down): not the caller's fault.
    Unavailable,
}

impl AuthFailure {
    pub fn message(self) -> &'static str {
        match self {
            Self::Missing => "Missing credential: send X-API-Key or Authorization: Bearer <token>",
            Self::Malformed => "Malformed credential",
            Self::Invalid => "Invalid API key",
            Self::Expired => "API key has expired",
            Self::InvalidToken => "Invalid or expired token",
            Self::Unavailable => "Authentication is temporarily unavailable",
        }
    }
}

/// What the middleware found, stored in the request's extensions for the extractor.
#[derive(Debug, Clone)]
pub struct AuthOutcome(pub Result<Principal, AuthFailure>);
