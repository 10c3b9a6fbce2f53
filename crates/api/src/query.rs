//! Query strings with repeatable parameters. actix's `Query` (serde_urlencoded) cannot collect a
//! repeated key, so those are taken out first and the rest is deserialized as usual, with the
//! same 422 as every other query error.

use actix_web::HttpRequest;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

/// The typed parameters, and the values of `repeated` in the order the client sent them.
pub fn with_repeated<T: DeserializeOwned>(
    req: &HttpRequest,
    repeated: &str,
) -> ApiResult<(T, Vec<String>)> {
    let mut values = Vec::new();
    let mut rest = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if key == repeated {
            values.push(value.into_owned());
        } else {
            rest.append_pair(&key, &value);
        }
    }
    let params = serde_urlencoded::from_str(&rest.finish())
        .map_err(|e| ApiError::field("query", e.to_string()))?;
    Ok((params, values))
}
