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
    let (params, mut taken) = with_taken(req, &[repeated])?;
    Ok((params, taken.pop().unwrap_or_default()))
}

/// The typed parameters, and for each of `keys` its values in the order the client sent them:
/// for routes that add parameters of their own to a shared parameter struct.
pub fn with_taken<T: DeserializeOwned>(
    req: &HttpRequest,
    keys: &[&str],
) -> ApiResult<(T, Vec<Vec<String>>)> {
    let mut values = vec![Vec::new(); keys.len()];
    let mut rest = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match keys
            .iter()
            .position(|k| *k == key)
            .and_then(|i| values.get_mut(i))
        {
            Some(taken) => taken.push(value.into_owned()),
            None => {
                rest.append_pair(&key, &value);
            }
        }
    }
    let params = serde_urlencoded::from_str(&rest.finish())
        .map_err(|e| ApiError::field("query", e.to_string()))?;
    Ok((params, values))
}

/// The single value of a parameter taken by [`with_taken`]; repeating it is a 422.
pub fn single(field: &str, values: Vec<String>) -> ApiResult<Option<String>> {
    let mut values = values.into_iter();
    match (values.next(), values.next()) {
        (first, None) => Ok(first),
        _ => Err(ApiError::field(field, "must be given at most once")),
    }
}
