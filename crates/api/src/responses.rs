//! The error responses every operation of a kind can give, documented once. An operation lists
//! its success and its own errors (404, 409, a specific 422) and then the sets that apply:
//! [`Common`] always, [`Authenticated`] when it needs a credential, [`AdminOnly`] when that
//! credential must be an admin's, and [`JsonBody`] when it reads a JSON body.
//! A test walks the document and checks that every operation carries what it can return.

use utoipa::IntoResponses;

use crate::error::ErrorBody;

/// Any route: the per-client rate limit and the panic boundary apply to all of them.
#[derive(IntoResponses)]
pub enum Common {
    #[response(
        status = 429,
        description = "Rate limit exceeded; retry after the given seconds",
        headers(
            ("Retry-After" = u64, description = "Seconds until a request is allowed again"),
            ("RateLimit-Limit" = u64, description = "Requests allowed per period"),
            ("RateLimit-Remaining" = u64, description = "Requests left in this period"),
            ("RateLimit-Reset" = u64, description = "Seconds until the period resets"),
        )
    )]
    RateLimited(ErrorBody),
    #[response(
        status = 500,
        description = "Internal error; the body carries only the request id, the cause is logged"
    )]
    Internal(ErrorBody),
}

/// A route that needs a credential.
#[derive(IntoResponses)]
pub enum Authenticated {
    #[response(
        status = 401,
        description = "Missing, invalid, revoked or expired credential",
        headers(("WWW-Authenticate" = String, description = "The accepted schemes"))
    )]
    Unauthorized(ErrorBody),
    #[response(
        status = 503,
        description = "The database does not answer while the credential is checked"
    )]
    Unavailable(ErrorBody),
}

/// A route whose credential must be an admin key.
#[derive(IntoResponses)]
pub enum AdminOnly {
    #[response(status = 403, description = "Admin access required")]
    Forbidden(ErrorBody),
}

/// A route that reads a JSON body. 422 is listed by the operation itself, with what it checks.
#[derive(IntoResponses)]
pub enum JsonBody {
    #[response(status = 400, description = "The body could not be read")]
    BadRequest(ErrorBody),
    #[response(status = 413, description = "Body over MAX_BODY_BYTES")]
    PayloadTooLarge(ErrorBody),
    #[response(status = 415, description = "Content-Type is not application/json")]
    UnsupportedMediaType(ErrorBody),
}

/// A file download: `type: string, format: binary`, so a generated client saves bytes.
pub struct BinaryFile;

impl utoipa::PartialSchema for BinaryFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl utoipa::ToSchema for BinaryFile {}

/// A listing: a cursor that cannot be used is a 400.
#[derive(IntoResponses)]
pub enum Paged {
    #[response(
        status = 400,
        description = "The cursor is malformed or altered, belongs to other filters or another \
                       sort, or was sent with page"
    )]
    BadCursor(ErrorBody),
}
