//! Reads a bulk upload from the request: a JSON body, a `text/csv` body, or the `file` field
//! of a multipart form (CSV, or JSON when the part says `application/json`), never more than
//! MAX_BODY_BYTES.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, http::header, web};
use futures_util::StreamExt;

use crate::bulk::Format;
use crate::error::{ApiError, ApiResult};

const ACCEPTED: &str =
    "Content-Type must be application/json, text/csv or multipart/form-data (a file field)";

/// The media type without parameters, lowercased.
fn media_type(value: Option<&header::HeaderValue>) -> Option<String> {
    let text = value?.to_str().ok()?;
    Some(text.split(';').next()?.trim().to_ascii_lowercase())
}

/// The upload's bytes and format.
pub async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> ApiResult<(Vec<u8>, Format)> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    match media_type(req.headers().get(header::CONTENT_TYPE)).as_deref() {
        Some("application/json") => Ok((body(payload, limit).await?, Format::Json)),
        Some("text/csv") => Ok((body(payload, limit).await?, Format::Csv)),
        Some("multipart/form-data") => file_field(req, payload, limit).await,
        _ => Err(ApiError::UnsupportedUpload(ACCEPTED)),
    }
}

async fn body(mut payload: web::Payload, limit: usize) -> ApiResult<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("upload interrupted: {e}")))?;
        if out.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn file_field(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> ApiResult<(Vec<u8>, Format)> {
    let mut form = Multipart::new(req.headers(), payload);
    let mut read = 0usize;
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| ApiError::BadRequest(format!("invalid multipart body: {e}")))?;
        let is_file = field.name() == Some("file");
        let format = match field.content_type().map(|m| m.essence_str()) {
            Some("application/json") => Format::Json,
            _ => Format::Csv,
        };
        let mut out = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::BadRequest(format!("upload interrupted: {e}")))?;
            read += chunk.len();
            if read > limit {
                return Err(ApiError::PayloadTooLarge(limit));
            }
            if is_file {
                out.extend_from_slice(&chunk);
            }
        }
        if is_file {
            return Ok((out, format));
        }
    }
    Err(ApiError::field(
        "file",
        "a multipart field named file is required",
    ))
}
