//! Request ids: honoured from `X-Request-Id` or generated, echoed on every response, and made
//! available to error bodies through a task-local.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

pub const HEADER: &str = "x-request-id";
const MAX_LEN: usize = 128;

/// What the handling of one request shares through the task-local.
struct Context {
    id: String,
    error: std::cell::RefCell<Option<String>>,
}

tokio::task_local! {
    static CURRENT: Context;
}

/// The id of the request being handled, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(|c| c.id.clone()).ok()
}

/// Remembers the detail of the error response being built, for the request log.
pub fn record_error(detail: &str) {
    let _ = CURRENT.try_with(|c| *c.error.borrow_mut() = Some(detail.to_owned()));
}

/// The detail of the error response of this request, if one was built.
pub fn recorded_error() -> Option<String> {
    CURRENT
        .try_with(|c| c.error.borrow().clone())
        .ok()
        .flatten()
}

/// The request id stored in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn accept_or_generate(req: &ServiceRequest) -> String {
    req.headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= MAX_LEN && v.chars().all(|c| c.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = accept_or_generate(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let context = Context {
        id: id.clone(),
        error: std::cell::RefCell::new(None),
    };
    let mut res = CURRENT.scope(context, next.call(req)).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(HEADER), value);
    }
    Ok(res)
}
