//! Extractor configuration: bad JSON, query strings and paths answer in the standard error body.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, web};

use crate::error::ApiError;

pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |err, _req: &HttpRequest| json_error(err, limit).into())
}

fn json_error(err: JsonPayloadError, limit: usize) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::PayloadTooLarge(limit)
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(e) => {
            let message = e.to_string();
            let field = missing_field(&message).unwrap_or("body").to_owned();
            ApiError::field(field, message)
        }
        other => ApiError::BadRequest(format!("Could not read the request body: {other}")),
    }
}

/// serde names a missing field in backticks; use it as the field of the error.
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let message = match err {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        ApiError::field("query", message).into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| {
        let message = match err {
            PathError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        ApiError::field("path", message).into()
    })
}

/// Refuses a query string that encodes NUL (`%00`) with the standard 422: NUL is never valid
/// text here, and PostgreSQL would refuse it deep inside a query (a 500) where SQLite accepts it.
pub async fn refuse_nul_in_query(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    if req.query_string().to_ascii_lowercase().contains("%00") {
        let err = ApiError::field("query", "must not contain the NUL character (%00)");
        return Ok(req.error_response(err));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::missing_field;

    #[test]
    fn missing_field_is_named() {
        assert_eq!(
            missing_field("missing field `status` at line 1 column 2"),
            Some("status")
        );
        assert_eq!(missing_field("invalid type"), None);
    }
}
