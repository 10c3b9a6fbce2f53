//! API keys: roles, the key format, and how a key is hashed. Generation takes the random bytes
//! from the caller so this crate stays free of I/O.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{DomainError, FieldError};

pub const KEY_PREFIX: &str = "pd_";
/// Random bytes in a key: 256 bits.
pub const KEY_RANDOM_BYTES: usize = 32;
/// Characters of a key kept in clear to recognise it in listings.
pub const DISPLAY_PREFIX_LEN: usize = 8;
pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Self::Admin),
            "user" => Ok(Self::User),
            _ => Err(DomainError::field("role", "must be one of: admin, user")),
        }
    }
}

/// Formats random bytes as a key: `pd_` + URL-safe base64 without padding (43 characters).
pub fn format_key(random: &[u8; KEY_RANDOM_BYTES]) -> String {
    format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(random))
}

/// The only form in which a key is stored: SHA-256, lowercase hex.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The clear prefix shown in listings.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(DISPLAY_PREFIX_LEN).collect()
}

/// A stored API key, without its hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub role: Role,
    pub is_active: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub key_prefix: String,
    pub usage_count: i64,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<String>,
}

/// Why a presented key does not authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRejection {
    Invalid,
    Expired,
}

impl ApiKey {
    /// Whether the key may authenticate at `now`.
    pub fn check_usable(&self, now: DateTime<Utc>) -> Result<(), KeyRejection> {
        if !self.is_active || self.revoked_at.is_some() {
            return Err(KeyRejection::Invalid);
        }
        match self.expires_at {
            Some(at) if at <= now => Err(KeyRejection::Expired),
            _ => Ok(()),
        }
    }
}

/// A validated request for a new key.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApiKey {
    pub name: String,
    pub description: Option<String>,
    pub role: Role,
    pub expires_at: Option<DateTime<Utc>>,
}

impl NewApiKey {
    pub fn new(
        name: &str,
        description: Option<&str>,
        role: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Self, DomainError> {
        let mut errors = Vec::new();
        let trimmed = name.trim();
        if trimmed.is_empty() || trimmed.chars().count() > NAME_MAX {
            errors.push(FieldError::new(
                "name",
                format!("must be 1 to {NAME_MAX} characters"),
            ));
        }
        for (field, text) in [("name", Some(name)), ("description", description)] {
            if let Some(Err(e)) = text.map(|t| crate::validation::check_no_nul(field, t)) {
                errors.push(e);
            }
        }
        if description.is_some_and(|d| d.chars().count() > DESCRIPTION_MAX) {
            errors.push(FieldError::new(
                "description",
                format!("must be at most {DESCRIPTION_MAX} characters"),
            ));
        }
        if let Err(e) = crate::validation::check_instant("expires_at", expires_at) {
            errors.push(e);
        }
        let role = role
            .parse::<Role>()
            .map_err(|_| errors.push(FieldError::new("role", "must be one of: admin, user")))
            .ok();
        match role {
            Some(role) if errors.is_empty() => Ok(Self {
                name: trimmed.to_owned(),
                description: description.map(str::to_owned),
                role,
                expires_at,
            }),
            _ => Err(DomainError::Validation(errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn keys_have_the_documented_shape() {
        let key = format_key(&[7u8; KEY_RANDOM_BYTES]);
        assert!(key.starts_with("pd_"));
        assert_eq!(key.len(), 3 + 43);
        assert!(
            key[3..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(display_prefix(&key).len(), 8);
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn role_is_admin_or_user() {
        assert_eq!("admin".parse::<Role>().ok(), Some(Role::Admin));
        assert!("root".parse::<Role>().is_err());
        assert!(NewApiKey::new("k", None, "superuser", None).is_err());
        assert!(NewApiKey::new(&"k".repeat(101), None, "user", None).is_err());
        assert!(NewApiKey::new("k", Some(&"d".repeat(501)), "user", None).is_err());
    }

    #[test]
    fn usability_checks_activity_revocation_and_expiry() {
        let now = Utc::now();
        let key = ApiKey {
            id: 1,
            name: "k".into(),
            description: None,
            role: Role::User,
            is_active: true,
            expires_at: Some(now + Duration::hours(1)),
            key_prefix: "pd_abcde".into(),
            usage_count: 0,
            last_used_at: None,
            revoked_at: None,
            created_at: now,
            updated_at: now,
            created_by: None,
        };
        assert_eq!(key.check_usable(now), Ok(()));
        assert_eq!(
            key.check_usable(now + Duration::hours(2)),
            Err(KeyRejection::Expired)
        );
        let inactive = ApiKey {
            is_active: false,
            ..key.clone()
        };
        assert_eq!(inactive.check_usable(now), Err(KeyRejection::Invalid));
        let revoked = ApiKey {
            revoked_at: Some(now),
            ..key
        };
        assert_eq!(revoked.check_usable(now), Err(KeyRejection::Invalid));
    }
}
