//! Response hardening headers and CORS.

use actix_cors::Cors;
use actix_web::middleware::DefaultHeaders;

pub fn default_headers(hsts: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"));
    if hsts {
        headers.add((
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// CORS from the configured origins. `*` allows any origin, and then never with credentials.
pub fn cors(origins: &[String]) -> Cors {
    let base = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers([
            "content-type",
            "x-api-key",
            "authorization",
            "x-request-id",
            "x-user",
            "if-match",
            "if-none-match",
            "idempotency-key",
        ])
        .expose_headers([
            "etag",
            "idempotent-replayed",
            "link",
            "x-total-count",
            "x-page",
            "x-page-size",
            "x-total-pages",
            "x-request-id",
            "ratelimit-limit",
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "ratelimit-remaining",
            "ratelimit-reset",
            "retry-after",
        ])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        return base.allow_any_origin().send_wildcard();
    }
    origins
        .iter()
        .fold(base, |cors, origin| cors.allowed_origin(origin))
}
