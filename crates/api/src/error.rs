//! The one error shape of the API. Every layer's error is mapped here, once.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use chrono::{DateTime, Utc};
use procdash_domain::secrets::mask_keys;
use procdash_domain::{DomainError, FieldError};
use procdash_persistence::PersistenceError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::request_id;

/// One invalid input field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldErrorBody {
    /// The field, as the client named it (`steps[0].name`, `page`, `body`).
    #[schema(example = "entity_id")]
    pub field: String,
    #[schema(example = "must be at most 100 characters")]
    pub message: String,
}

/// The body of every 4xx and 5xx response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    #[schema(example = "Run 42 not found")]
    pub detail: String,
    #[schema(example = 404)]
    pub status_code: u16,
    /// A stable machine-readable kind: validation_error, not_found, conflict, payload_too_large,
    /// unsupported_media_type, method_not_allowed, bad_request, unauthorized, forbidden,
    /// rate_limited, not_implemented, service_unavailable, internal_error.
    #[schema(example = "not_found")]
    pub error_type: String,
    pub timestamp: DateTime<Utc>,
    #[schema(example = "5f0c6a1e-2f4b-4f6e-9d7a-3b1f0f2f8c11")]
    pub request_id: Option<String>,
    /// Present on 422 responses: every rejected field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldErrorBody>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// An If-Match that no longer matches the resource.
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("Validation failed")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("Request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    /// A body of a type the route does not read; the message lists the accepted types.
    #[error("{0}")]
    UnsupportedUpload(&'static str),
    /// More items than one request may carry (BULK_MAX_ITEMS).
    #[error("At most {0} items per request")]
    TooManyItems(usize),
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("Rate limit exceeded; retry in {0} s")]
    RateLimited(u64),
    /// Too many open event streams for one key.
    #[error("{0}")]
    TooManyStreams(String),
    #[error("{0}")]
    NotImplemented(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("Internal server error")]
    Internal(String),
}

impl ApiError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    fn error_type(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PreconditionFailed(_) => "precondition_failed",
            Self::Validation(_) => "validation_error",
            Self::BadRequest(_) => "bad_request",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType | Self::UnsupportedUpload(_) => "unsupported_media_type",
            Self::TooManyItems(_) => "payload_too_large",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::RateLimited(_) | Self::TooManyStreams(_) => "rate_limited",
            Self::NotImplemented(_) => "not_implemented",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    pub fn body(&self) -> ErrorBody {
        let errors = match self {
            Self::Validation(errors) => Some(
                errors
                    .iter()
                    .map(|e| FieldErrorBody {
                        field: e.field.clone(),
                        message: mask_keys(&e.message),
                    })
                    .collect(),
            ),
            _ => None,
        };
        let detail = match self {
            Self::Validation(errors) if !errors.is_empty() => {
                let parts: Vec<_> = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect();
                format!("Validation failed: {}", parts.join("; "))
            }
            other => other.to_string(),
        };
        ErrorBody {
            detail: mask_keys(&detail),
            status_code: self.status_code().as_u16(),
            error_type: self.error_type().to_owned(),
            timestamp: Utc::now(),
            request_id: request_id::current(),
            errors,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType | Self::UnsupportedUpload(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::TooManyItems(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::RateLimited(_) | Self::TooManyStreams(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            // The cause goes to the log only; the client sees the request id to quote.
            tracing::error!(request_id = ?request_id::current(), cause = %cause, "internal error");
        }
        let body = self.body();
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ));
        match self {
            Self::Unauthorized(_) => {
                res.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("ApiKey header=\"X-API-Key\", Bearer"),
                ));
            }
            Self::RateLimited(seconds) => {
                res.insert_header((header::RETRY_AFTER, seconds.to_string()));
            }
            _ => {}
        }
        // The request log records what went wrong without parsing the body.
        request_id::record_error(&body.detail);
        res.json(&body)
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::Validation(errors) => Self::Validation(errors),
        }
    }
}

impl From<PersistenceError> for ApiError {
    fn from(err: PersistenceError) -> Self {
        match err {
            PersistenceError::NotFound { entity, id } => {
                Self::NotFound(format!("{} {id} not found", capitalize(entity)))
            }
            PersistenceError::Conflict(message) => Self::Conflict(message),
            PersistenceError::PreconditionFailed { entity } => Self::PreconditionFailed(format!(
                "The {entity} has changed since it was read: GET it again for its current ETag"
            )),
            PersistenceError::Invalid(domain) => domain.into(),
            PersistenceError::Unsupported(message) => Self::NotImplemented(message),
            other => Self::Internal(error_chain(&other)),
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Joins the field errors of several independent checks into one 422.
pub fn merge(first: Option<ApiError>, second: Option<ApiError>) -> ApiError {
    let mut errors = Vec::new();
    for err in [first, second].into_iter().flatten() {
        match err {
            ApiError::Validation(mut e) => errors.append(&mut e),
            other => return other,
        }
    }
    ApiError::Validation(errors)
}
