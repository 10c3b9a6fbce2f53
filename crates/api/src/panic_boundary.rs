//! The panic boundary: a panic in a handler or a middleware becomes the opaque 500 in the
//! standard error body, its message, location and backtrace go to the log, and the worker goes on
//! serving. Without it a panic unwinds through actix's dispatcher, closes the connection with no
//! response and drops the other requests in flight on that worker.
//!
//! [`install_hook`] (called once by the binary) captures the backtrace at the panic site, where it
//! still exists, and hands it to the boundary through a thread-local: the panic is caught on the
//! thread that raised it, because actix workers run single-threaded runtimes.

use std::any::Any;
use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, ResponseError};
use futures_util::FutureExt;

use crate::error::ApiError;
use crate::request_id;

/// What the hook saw at the panic site.
struct PanicReport {
    location: String,
    backtrace: String,
}

thread_local! {
    static LAST_PANIC: RefCell<Option<PanicReport>> = const { RefCell::new(None) };
}

/// Installs (once per process) a panic hook that keeps the backtrace of panics raised while a
/// request is handled for the boundary to log. Other panics go to the previous hook unchanged.
pub fn install_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(chain_hook);
}

fn chain_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if request_id::current().is_none() {
            previous(info);
            return;
        }
        let location = info
            .location()
            .map_or_else(|| "unknown".to_owned(), |l| l.to_string());
        let backtrace = std::backtrace::Backtrace::force_capture().to_string();
        LAST_PANIC.with(|slot| {
            *slot.borrow_mut() = Some(PanicReport {
                location,
                backtrace,
            });
        });
    }));
}

/// The text of a panic payload: `panic!` gives a `&str` or a `String`.
fn payload_text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

/// Logs a caught panic with the request it broke. The message may quote data, so it goes to the
/// log only, never to the client.
fn log_panic(payload: &(dyn Any + Send), method: &str, path: &str) {
    let report = LAST_PANIC.with(|slot| slot.borrow_mut().take());
    let (location, backtrace) = report.map_or_else(
        || {
            (
                "unknown".to_owned(),
                "not captured (panic hook not installed)".to_owned(),
            )
        },
        |r| (r.location, r.backtrace),
    );
    tracing::error!(
        request_id = ?request_id::current(),
        method,
        path,
        panic = payload_text(payload),
        location = %location,
        backtrace = %backtrace,
        "request handler panicked; answered 500"
    );
}

fn internal_error() -> ApiError {
    ApiError::Internal("a request handler panicked".to_owned())
}

/// The boundary around each resource's handlers. It sits below the router, because a clone of
/// the request held while actix routes makes routing panic (it needs the request unshared); here
/// the clone is safe and the 500 is a full response that the security headers, CORS and the
/// request log see like any other.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let http_req = req.request().clone();
    let method = req.method().to_string();
    let path = req.path().to_owned();
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(Ok(res)) => Ok(res.map_body(|_, body| BoxBody::new(GuardedBody::new(body)))),
        Ok(Err(err)) => Err(err),
        Err(payload) => {
            log_panic(payload.as_ref(), &method, &path);
            Ok(ServiceResponse::new(
                http_req,
                internal_error().error_response(),
            ))
        }
    }
}

/// The boundary just inside the request id, for panics in the other middleware and in routes
/// outside the API table. It cannot hold the request (see [`middleware`]), so it answers with an
/// error that carries the finished response: the standard body with the request id.
pub async fn outer(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let method = req.method().to_string();
    let path = req.path().to_owned();
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => {
            log_panic(payload.as_ref(), &method, &path);
            let response = internal_error().error_response();
            Err(actix_web::error::InternalError::from_response("panic", response).into())
        }
    }
}

/// A response body whose producer may panic (a streamed export, say): the panic ends the body
/// with an error, which closes that one connection, instead of unwinding through the worker.
/// The status line is already sent by then, so a 500 is no longer possible.
struct GuardedBody {
    inner: BoxBody,
    failed: bool,
}

impl GuardedBody {
    fn new(body: impl MessageBody + 'static) -> Self {
        Self {
            inner: BoxBody::new(body),
            failed: false,
        }
    }
}

impl MessageBody for GuardedBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.inner.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        let inner = &mut this.inner;
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll_next(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                this.failed = true;
                log_panic(payload.as_ref(), "-", "response body");
                Poll::Ready(Some(Err("response body panicked".into())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_text_reads_both_panic_forms() {
        let literal: Box<dyn Any + Send> = Box::new("boom");
        let formatted: Box<dyn Any + Send> = Box::new(format!("boom {}", 1));
        let other: Box<dyn Any + Send> = Box::new(7_u8);
        assert_eq!(payload_text(literal.as_ref()), "boom");
        assert_eq!(payload_text(formatted.as_ref()), "boom 1");
        assert_eq!(payload_text(other.as_ref()), "non-string panic payload");
    }
}
