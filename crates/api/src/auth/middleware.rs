use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError, web};
use procdash_domain::api_key::Role;

use crate::auth::rate_limit::Decision;
use crate::auth::{AuthFailure, AuthOutcome, Principal, client_ip};
use crate::error::ApiError;
use crate::state::AppState;

const API_KEY_HEADER: &str = "x-api-key";

/// Resolves the credential (once), then applies the rate limit keyed by key or client IP.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let outcome = resolve(&req, &state).await;
    let limit_key = match &outcome {
        Ok(p) => Some((format!("key:{}", p.key_id), p.role == Role::Admin)),
        Err(_) => client_ip(req.request(), &state.security.trusted_proxies)
            .map(|ip| (format!("ip:{ip}"), false)),
    };
    req.extensions_mut().insert(AuthOutcome(outcome));
    let decision = match (&state.limiter, limit_key) {
        (Some(limiter), Some((key, admin))) => Some(limiter.check(&key, admin).await),
        _ => None,
    };
    if let Some(d) = decision.filter(|d| !d.allowed) {
        let res = ApiError::RateLimited(d.retry_after).error_response();
        let mut res = req.into_response(res);
        add_headers(res.headers_mut(), &d);
        return Ok(res);
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    if let Some(d) = decision {
        add_headers(res.headers_mut(), &d);
    }
    Ok(res)
}

async fn resolve(req: &ServiceRequest, state: &AppState) -> Result<Principal, AuthFailure> {
    if let Some(value) = req.headers().get(API_KEY_HEADER) {
        let key = value.to_str().map_err(|_| AuthFailure::Malformed)?.trim();
        if key.is_empty() {
            return Err(AuthFailure::Malformed);
        }
        return state.keys.authenticate(key).await;
    }
    let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return from_session(req, state).await;
    };
    let value = value.to_str().map_err(|_| AuthFailure::Malformed)?;
    // The scheme name is case-insensitive (RFC 9110).
    let Some(token) = value
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("bearer "))
        .and_then(|_| value.get(7..))
    else {
        return Err(AuthFailure::Malformed);
    };
    let tokens = state.tokens.as_ref().ok_or(AuthFailure::InvalidToken)?;
    let key_id = tokens
        .verify(token.trim())
        .ok_or(AuthFailure::InvalidToken)?;
    let mut principal = state.keys.authenticate_id(key_id).await?;
    principal.via_token = true;
    Ok(principal)
}

/// The web dashboard's session cookie is a credential for reading only: a state-changing API
/// request must carry a key or token, so a forged cross-site request cannot change anything.
async fn from_session(req: &ServiceRequest, state: &AppState) -> Result<Principal, AuthFailure> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return Err(AuthFailure::Missing);
    }
    crate::auth::session::principal_from_cookie(req.request(), state)
        .await
        .map(|(principal, _)| principal)
}

fn add_headers(headers: &mut actix_web::http::header::HeaderMap, d: &Decision) {
    let pairs = [
        ("ratelimit-limit", d.limit.to_string()),
        ("ratelimit-remaining", d.remaining.to_string()),
        ("ratelimit-reset", d.reset_seconds.to_string()),
        ("x-ratelimit-limit", d.limit.to_string()),
        ("x-ratelimit-remaining", d.remaining.to_string()),
        ("x-ratelimit-reset", d.reset_seconds.to_string()),
    ];
    for (name, value) in pairs {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
    if !d.allowed
        && let Ok(v) = HeaderValue::from_str(&d.retry_after.to_string())
    {
        headers.insert(HeaderName::from_static("retry-after"), v);
    }
}
