//! Conditional requests (RFC 9110 §13) on processes, steps, runs and step runs: a strong `ETag`
//! on each GET and on each write's answer, `If-None-Match` answered with 304, and `If-Match`
//! carried into the write transaction (persistence checks it under the row lock and answers
//! 412 when the resource has changed since the client read it).

use actix_web::http::header::{self, HeaderName};
use actix_web::{HttpRequest, HttpResponse};
use procdash_domain::etag::{EntityTag, TagList};
use procdash_domain::{ProcessRun, health::RunHealth};
use procdash_persistence::repo::preconditions::Precondition;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The tag list of `name`, when the request carries it.
fn tag_list(req: &HttpRequest, name: HeaderName, label: &str) -> ApiResult<Option<TagList>> {
    let Some(raw) = req.headers().get(&name) else {
        return Ok(None);
    };
    let refused = || {
        ApiError::BadRequest(format!(
            "{label} must be \"*\" or a comma-separated list of quoted entity tags"
        ))
    };
    let text = raw.to_str().map_err(|_| refused())?;
    TagList::parse(label, text).map(Some).map_err(|_| refused())
}

/// The request's `If-Match`, as the precondition of a write.
pub fn precondition(req: &HttpRequest) -> ApiResult<Option<Precondition>> {
    Ok(tag_list(req, header::IF_MATCH, "If-Match")?.map(Precondition::new))
}

/// The precondition of a write to a run: its tag includes the health verdict, which the run as
/// read before the write gives (see [`Precondition::salt`]).
pub async fn run_precondition(
    req: &HttpRequest,
    state: &AppState,
    run_id: i64,
) -> ApiResult<Option<Precondition>> {
    let Some(mut pre) = precondition(req)? else {
        return Ok(None);
    };
    let run = procdash_persistence::repo::runs::get(&state.db, run_id).await?;
    pre.salt = run_health(state, &run).await?.as_str().to_owned();
    Ok(Some(pre))
}

/// The late/stuck verdict of a run as of now.
pub async fn run_health(state: &AppState, run: &ProcessRun) -> ApiResult<RunHealth> {
    Ok(state.health.rules(&state.db).await?.of(run))
}

/// A tag computed from stored data; a failure to serialize is an internal error.
pub fn tag(computed: Result<EntityTag, serde_json::Error>) -> ApiResult<EntityTag> {
    computed.map_err(|e| ApiError::Internal(format!("entity tag: {e}")))
}

/// 200 with `body` and its `ETag`, or 304 when `If-None-Match` lists the tag already.
pub fn tagged<T: Serialize>(
    req: &HttpRequest,
    tag: &EntityTag,
    body: &T,
) -> ApiResult<HttpResponse> {
    let value = tag.header_value();
    if let Some(list) = tag_list(req, header::IF_NONE_MATCH, "If-None-Match")?
        && list.matches_weak(tag)
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, value))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, value))
        .json(body))
}

/// 200 with the body of a write and the resource's new `ETag`.
pub fn written<T: Serialize>(tag: &EntityTag, body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, tag.header_value()))
        .json(body)
}

/// The GETs that answer with an ETag and honour If-None-Match.
const TAGGED_READS: [&str; 5] = [
    "/processes/{process_id}",
    "/steps/{step_id}",
    "/runs/{run_id}",
    "/step-runs/{step_run_id}",
    "/step-runs/run/{run_id}/step/{step_id}",
];

/// The writes that honour If-Match (method, path).
const CONDITIONAL_WRITES: [(&str, &str); 6] = [
    ("patch", "/processes/{process_id}"),
    ("delete", "/processes/{process_id}"),
    ("put", "/processes/{process_id}/retention"),
    ("patch", "/runs/{run_id}/metadata"),
    ("delete", "/runs/{run_id}"),
    ("patch", "/step-runs/{step_run_id}"),
];

const ETAG_DOC: &str = "Strong entity tag of the resource's current state; send it back in \
                        If-Match to change it, or in If-None-Match to be answered 304 while it \
                        has not changed";
const BAD_LIST: &str = "the header is not \"*\" or a comma-separated list of quoted entity tags";

/// Documents the conditional headers and their responses on each operation above.
pub struct OpenApiDoc;

impl utoipa::Modify for OpenApiDoc {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use crate::openapi_headers as h;
        let prefix = crate::openapi::DEFAULT_PREFIX;
        for route in TAGGED_READS {
            let Some(op) = h::operation(doc, "get", &format!("{prefix}{route}")) else {
                continue;
            };
            h::header_param(
                op,
                "If-None-Match",
                "\"*\" or entity tags from earlier answers (weak comparison): when one is the \
                 current tag, the answer is 304 without a body",
                None,
            );
            h::response_header(op, "200", "ETag", ETAG_DOC);
            h::empty_response(
                op,
                "304",
                "Not modified: If-None-Match lists the current ETag (sent again in the ETag \
                 header)",
            );
            h::response_header(op, "304", "ETag", ETAG_DOC);
            h::error_response(op, "400", BAD_LIST);
        }
        for (method, route) in CONDITIONAL_WRITES {
            let Some(op) = h::operation(doc, method, &format!("{prefix}{route}")) else {
                continue;
            };
            h::header_param(
                op,
                "If-Match",
                "\"*\" or the ETag of the resource as last read (strong comparison): the write \
                 happens only while it is still the current tag, checked inside the write's \
                 transaction",
                None,
            );
            h::response_header(op, "200", "ETag", ETAG_DOC);
            h::error_response(
                op,
                "412",
                "Precondition failed: the resource changed since the ETag in If-Match was read; \
                 nothing was changed",
            );
            h::error_response(op, "400", BAD_LIST);
        }
    }
}
