use chrono::{DateTime, Utc};
use procdash_domain::api_key::{ApiKey, NewApiKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiResult;

/// An API key as listed; the secret itself is never shown again after creation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyResponse {
    #[schema(example = 5)]
    pub id: i64,
    #[schema(example = "Production robot")]
    pub name: String,
    pub description: Option<String>,
    /// admin or user.
    #[schema(example = "user")]
    pub role: String,
    pub is_active: bool,
    pub expires_at: Option<DateTime<Utc>>,
    /// The first 8 characters of the key, to recognise it.
    #[schema(example = "pd_Xk3a9")]
    pub key_prefix: String,
    pub usage_count: i64,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<String>,
}

impl From<ApiKey> for ApiKeyResponse {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            description: k.description,
            role: k.role.as_str().to_owned(),
            is_active: k.is_active,
            expires_at: k.expires_at,
            key_prefix: k.key_prefix,
            usage_count: k.usage_count,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            created_at: k.created_at,
            updated_at: k.updated_at,
            created_by: k.created_by,
        }
    }
}

/// A new key: the plaintext `key` appears in this response only.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKeyResponse {
    #[serde(flatten)]
    pub record: ApiKeyResponse,
    /// The secret. Store it now: it is not retrievable later.
    #[schema(example = "pd_Xk3a9...")]
    pub key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Production robot", "description": "RPA reporter", "role": "user", "expires_at": "2027-12-31T23:59:59Z"}))]
pub struct CreateApiKeyRequest {
    #[schema(max_length = 100)]
    pub name: String,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// admin or user; default user.
    #[serde(default = "default_role")]
    pub role: String,
    pub expires_at: Option<DateTime<Utc>>,
}

fn default_role() -> String {
    "user".to_owned()
}

impl CreateApiKeyRequest {
    pub fn into_domain(self) -> ApiResult<NewApiKey> {
        Ok(NewApiKey::new(
            &self.name,
            self.description.as_deref(),
            &self.role,
            self.expires_at,
        )?)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyInfo {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub usage_count: i64,
    pub last_used_at: Option<DateTime<Utc>>,
    pub is_active: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse {
    #[schema(example = "valid")]
    pub status: String,
    pub message: String,
    pub key_info: KeyInfo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointCount {
    /// The route template, never a raw path with ids.
    #[schema(example = "/api/v1/runs/{run_id}")]
    pub endpoint: String,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageStatsResponse {
    pub key_id: i64,
    pub usage_count: i64,
    pub last_used_at: Option<DateTime<Utc>>,
    pub daily_usage: u64,
    pub weekly_usage: u64,
    pub top_endpoints: Vec<EndpointCount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    #[schema(example = "bearer")]
    pub token_type: String,
    /// Seconds until the token expires.
    #[schema(example = 1800)]
    pub expires_in: i64,
}
