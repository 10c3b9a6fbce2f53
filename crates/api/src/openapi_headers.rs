//! Helpers for OpenAPI modifiers that add the same header or response to several operations
//! (Idempotency-Key on creating POSTs, ETag preconditions on the versioned resources), so each
//! cross-cutting header is documented once, next to the code that implements it.

use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder,
};

/// The operation `method` of `path` (with the default prefix), if documented.
pub fn operation<'a>(doc: &'a mut OpenApi, method: &str, path: &str) -> Option<&'a mut Operation> {
    let item = doc.paths.paths.get_mut(path)?;
    match method {
        "get" => item.get.as_mut(),
        "post" => item.post.as_mut(),
        "put" => item.put.as_mut(),
        "patch" => item.patch.as_mut(),
        "delete" => item.delete.as_mut(),
        _ => None,
    }
}

/// A string schema, bounded when `max_len` is given.
pub fn string_schema(max_len: Option<usize>) -> RefOr<utoipa::openapi::schema::Schema> {
    let mut schema = ObjectBuilder::new().schema_type(Type::String);
    if let Some(max) = max_len {
        schema = schema.min_length(Some(1)).max_length(Some(max));
    }
    schema.into()
}

/// Adds an optional request header parameter.
pub fn header_param(op: &mut Operation, name: &str, description: &str, max_len: Option<usize>) {
    let param: Parameter = ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(string_schema(max_len)))
        .build();
    op.parameters
        .get_or_insert_with(Vec::new)
        .push(RefOr::T(param));
}

/// Adds a response header to the documented response `status`.
pub fn response_header(op: &mut Operation, status: &str, name: &str, description: &str) {
    if let Some(RefOr::T(response)) = op.responses.responses.get_mut(status) {
        response.headers.insert(
            name.to_owned(),
            RefOr::T(
                HeaderBuilder::new()
                    .schema(Some(string_schema(None)))
                    .description(Some(description))
                    .build(),
            ),
        );
    }
}

/// Documents an error response with the standard body; when the status is documented
/// already, the new case is appended to its description.
pub fn error_response(op: &mut Operation, status: &str, description: &str) {
    match op.responses.responses.get_mut(status) {
        Some(RefOr::T(existing)) => {
            existing.description = format!("{}; or: {description}", existing.description);
        }
        _ => {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build();
            let response = ResponseBuilder::new()
                .description(description)
                .content("application/json", content)
                .build();
            op.responses
                .responses
                .insert(status.to_owned(), RefOr::T(response));
        }
    }
}

/// Documents a response without a body (304).
pub fn empty_response(op: &mut Operation, status: &str, description: &str) {
    let response = ResponseBuilder::new().description(description).build();
    op.responses
        .responses
        .insert(status.to_owned(), RefOr::T(response));
}
