//! `Idempotency-Key` on the POSTs that create something (Stripe's model): the first request
//! with a key claims it in the database, runs, and stores its status and body; a repeat with
//! the same key and the same request replays that response with `Idempotent-Replayed: true`
//! instead of creating again. The same key with another request is a 422, and a repeat while
//! the first is still running a 409. Keys are scoped to the calling API key.
//!
//! A 5xx releases the key, so the client may retry the same request. Other responses (2xx and
//! the handler's 4xx, e.g. a 422 or a 404) are stored and replayed, as Stripe does: the
//! request was answered, and a retry must not change its outcome.
//!
//! It runs as middleware around each resource, inside routing (it needs the route template)
//! and outside the resource's panic boundary (so a panic's 500 releases the key too).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{Error, HttpMessage, HttpResponse};
use futures_util::StreamExt;
use procdash_persistence::repo::idempotency::{self, Claim, KeyClaim, StoredResponse};
use sha2::{Digest, Sha256};

use crate::auth::AuthOutcome;
use crate::error::ApiError;
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";
/// Longest key accepted, in characters.
pub const MAX_KEY_CHARS: usize = 255;

/// The creating POSTs, relative to the API prefix. POST /api-keys/ is left out on purpose:
/// its response carries the new key's plaintext, which is never stored anywhere.
pub const ROUTES: [&str; 4] = ["/processes/", "/steps/", "/runs/", "/step-runs/"];

/// How keys behave, from IDEMPOTENCY_TTL_HOURS.
#[derive(Debug, Clone, Copy)]
pub struct IdempotencySettings {
    /// How long a stored response is replayed.
    pub ttl: chrono::Duration,
    /// After this an in-flight claim counts as abandoned (its instance died, or the client
    /// went away and actix dropped the request) and the key may be claimed again.
    pub abandoned_after: chrono::Duration,
}

impl Default for IdempotencySettings {
    fn default() -> Self {
        Self {
            ttl: chrono::Duration::hours(24),
            abandoned_after: chrono::Duration::minutes(2),
        }
    }
}

/// A validated key, or the 422 that refuses it.
fn parse_key(value: &HeaderValue) -> Result<String, ApiError> {
    let text = value.to_str().map_err(|_| {
        ApiError::field(
            "Idempotency-Key",
            "must be visible ASCII characters (at most 255)",
        )
    })?;
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_KEY_CHARS {
        return Err(ApiError::field(
            "Idempotency-Key",
            "must be 1 to 255 characters",
        ));
    }
    Ok(text.to_owned())
}

/// Whether the matched route accepts a key: a POST whose template is one of [`ROUTES`].
fn accepts_key(req: &ServiceRequest, prefix: &str) -> bool {
    let Some(pattern) = req.match_pattern() else {
        return false;
    };
    let relative = pattern.strip_prefix(prefix).unwrap_or(&pattern);
    req.method() == Method::POST
        && ROUTES
            .iter()
            .any(|r| r.trim_end_matches('/') == relative.trim_end_matches('/'))
}

/// SHA-256 of what makes two requests "the same": method, route, path and body bytes.
fn request_hash(req: &ServiceRequest, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str().as_bytes());
    hasher.update(b"\n");
    hasher.update(req.path().as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// Reads the whole body (it is JSON under MAX_BODY_BYTES on these routes) so it can be hashed,
/// and puts it back for the handler.
async fn buffer_body(req: &mut ServiceRequest, limit: usize) -> Result<Bytes, ApiError> {
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::BadRequest("The body could not be read".into()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    req.set_payload(Payload::from(body.clone()));
    Ok(body)
}

fn replay(stored: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut res = HttpResponse::build(status);
    if let Some(ct) = stored
        .content_type
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        res.insert_header((header::CONTENT_TYPE, ct));
    }
    res.insert_header((
        HeaderName::from_static(REPLAYED),
        HeaderValue::from_static("true"),
    ));
    res.body(stored.body)
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(raw) = req.headers().get(HEADER).cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = match parse_key(&raw) {
        Ok(key) => key,
        Err(e) => return Ok(req.error_response(e)),
    };
    if !accepts_key(&req, &state.info.prefix) {
        let e = ApiError::field(
            "Idempotency-Key",
            "is accepted only on POST /processes/, /steps/, /runs/ and /step-runs/",
        );
        return Ok(req.error_response(e));
    }
    // An unauthenticated request goes on to the handler, whose extractor answers 401.
    let principal = req
        .extensions()
        .get::<AuthOutcome>()
        .and_then(|o| o.0.clone().ok());
    let Some(principal) = principal else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let body = match buffer_body(&mut req, state.info.max_body_bytes).await {
        Ok(body) => body,
        Err(e) => return Ok(req.error_response(e)),
    };
    let hash = request_hash(&req, &body);
    let claim = KeyClaim {
        api_key_id: principal.key_id,
        key: &key,
        request_hash: &hash,
        ttl: state.idempotency.ttl,
        abandoned_after: state.idempotency.abandoned_after,
    };
    let found = idempotency::claim(&state.db, &principal.actor(), &claim).await;
    match found {
        Ok(Claim::Claimed) => {}
        Ok(Claim::Done(stored)) => return Ok(req.into_response(replay(stored))),
        Ok(Claim::Mismatch) => {
            let e = ApiError::field(
                "Idempotency-Key",
                "was already used with a different request",
            );
            return Ok(req.error_response(e));
        }
        Ok(Claim::InFlight) => {
            let e = ApiError::Conflict(
                "A request with this Idempotency-Key is still in progress; retry later".into(),
            );
            return Ok(req.error_response(e));
        }
        Err(e) => return Ok(req.error_response(ApiError::from(e))),
    }
    let res = next.call(req).await?;
    finish(&state, principal.key_id, &key, res).await
}

/// Stores the answer of a claimed key (or releases the key after a 5xx) and returns it.
async fn finish(
    state: &AppState,
    api_key_id: i64,
    key: &str,
    res: ServiceResponse<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let status = res.status();
    if status.is_server_error() {
        if let Err(e) = idempotency::release(&state.db, api_key_id, key).await {
            tracing::warn!(error = %e, "cannot release an idempotency key");
        }
        return Ok(res.map_into_boxed_body());
    }
    let (http_req, response) = res.into_parts();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (head, body) = response.into_parts();
    let bytes = match actix_web::body::to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let _ = idempotency::release(&state.db, api_key_id, key).await;
            let e = ApiError::Internal("response body could not be read".into());
            let res = actix_web::ResponseError::error_response(&e);
            return Ok(ServiceResponse::new(http_req, res));
        }
    };
    let stored = StoredResponse {
        status: status.as_u16(),
        content_type,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    if let Err(e) = idempotency::complete(&state.db, api_key_id, key, stored).await {
        // The answer stands; the key stays in flight until it counts as abandoned.
        tracing::warn!(error = %e, "cannot store an idempotent response");
    }
    Ok(ServiceResponse::new(
        http_req,
        head.set_body(BoxBody::new(bytes)),
    ))
}

/// Documents the header on each creating POST, the replay header on its 201, and the 409.
pub struct OpenApiDoc;

impl utoipa::Modify for OpenApiDoc {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use crate::openapi_headers as h;
        for route in ROUTES {
            let path = format!("{}{route}", crate::openapi::DEFAULT_PREFIX);
            let Some(op) = h::operation(doc, "post", &path) else {
                continue;
            };
            h::header_param(
                op,
                "Idempotency-Key",
                "1 to 255 characters, unique per request and API key. A repeat with the same key \
                 and body within IDEMPOTENCY_TTL_HOURS replays the first response (status and \
                 body) without creating again; a 5xx releases the key for a retry.",
                Some(MAX_KEY_CHARS),
            );
            h::response_header(
                op,
                "201",
                "Idempotent-Replayed",
                "`true` when this is the stored response of an earlier request with the same \
                 Idempotency-Key",
            );
            h::error_response(
                op,
                "409",
                "a request with the same Idempotency-Key is still in progress",
            );
            h::error_response(
                op,
                "422",
                "the Idempotency-Key is empty, longer than 255 characters, or was used with a \
                 different request",
            );
        }
    }
}
