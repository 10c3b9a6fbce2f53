use actix_web::web;
use chrono::Utc;
use procdash_persistence::repo::{api_keys, request_logs};

use crate::auth::{AnyRole, Auth};
use crate::dto::api_key::{
    ApiKeyResponse, EndpointCount, KeyInfo, TokenResponse, UsageStatsResponse, VerifyResponse,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::responses;
use crate::state::AppState;

/// Check the presented credential.
#[utoipa::path(
    get, path = "/api/v1/auth/verify", tag = "auth",
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The credential is valid", body = VerifyResponse),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn verify(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<VerifyResponse>> {
    let key = api_keys::get(&state.db, auth.principal.key_id).await?;
    Ok(web::Json(VerifyResponse {
        status: "valid".to_owned(),
        message: "API key is valid".to_owned(),
        key_info: KeyInfo {
            id: key.id,
            name: key.name,
            role: key.role.as_str().to_owned(),
            usage_count: key.usage_count,
            last_used_at: key.last_used_at,
            is_active: key.is_active,
        },
    }))
}

/// The calling key's record.
#[utoipa::path(
    get, path = "/api/v1/auth/me", tag = "auth",
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The calling key", body = ApiKeyResponse),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn me(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<ApiKeyResponse>> {
    Ok(web::Json(
        api_keys::get(&state.db, auth.principal.key_id)
            .await?
            .into(),
    ))
}

/// Usage of the calling key: totals, last day and week, most used route templates.
#[utoipa::path(
    get, path = "/api/v1/auth/usage-stats", tag = "auth",
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Usage statistics", body = UsageStatsResponse),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn usage_stats(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<UsageStatsResponse>> {
    state.keys.flush_usage().await;
    let key = api_keys::get(&state.db, auth.principal.key_id).await?;
    let (daily, weekly, top) = request_logs::key_usage(&state.db, key.id, Utc::now()).await?;
    Ok(web::Json(UsageStatsResponse {
        key_id: key.id,
        usage_count: key.usage_count,
        last_used_at: key.last_used_at,
        daily_usage: daily,
        weekly_usage: weekly,
        top_endpoints: top
            .into_iter()
            .map(|(endpoint, count)| EndpointCount { endpoint, count })
            .collect(),
    }))
}

/// Exchange a valid API key (X-API-Key) for a short-lived bearer token.
#[utoipa::path(
    post, path = "/api/v1/auth/token", tag = "auth",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "A bearer token", body = TokenResponse),
        (status = 501, description = "Tokens are disabled (no SECRET_KEY)", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn issue_token(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<TokenResponse>> {
    if auth.principal.via_token {
        return Err(ApiError::Unauthorized(
            "An API key is required to issue a token; a token cannot renew itself".to_owned(),
        ));
    }
    let tokens = state.tokens.as_ref().ok_or_else(|| {
        ApiError::NotImplemented("Tokens are disabled: set SECRET_KEY".to_owned())
    })?;
    let token = tokens
        .issue(&auth.principal)
        .map_err(|e| ApiError::Internal(format!("token signing failed: {e}")))?;
    Ok(web::Json(TokenResponse {
        access_token: token,
        token_type: "bearer".to_owned(),
        expires_in: tokens.lifetime_seconds(),
    }))
}
