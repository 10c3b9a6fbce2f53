use actix_web::{HttpRequest, HttpResponse, web};
use procdash_domain::{Position, ProcessRun, RunOrderField, RunSortKey};
use procdash_persistence::repo::runs;
use serde_json::Value;

use crate::auth::{AnyRole, Auth};
use crate::conditional;
use crate::dto::run::{CreateRunRequest, RunListParams, RunResponse};
use crate::error::{ApiResult, ErrorBody};
use crate::pagination::{self, PageResponse};
use crate::query::with_repeated;
use crate::responses;
use crate::state::AppState;

/// Start a run of a process: one pending step run per live step.
#[utoipa::path(
    post, path = "/api/v1/runs/", tag = "runs",
    request_body = CreateRunRequest,
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 201, description = "The run, pending, with its step runs", body = RunResponse),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::JsonBody,
    )
)]
pub async fn create_run(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    body: web::Json<CreateRunRequest>,
) -> ApiResult<HttpResponse> {
    let new = body.into_inner().into_domain()?;
    let run = runs::create(&state.db, &auth.actor(), new).await?;
    Ok(HttpResponse::Created().json(crate::health::run_body(&state, run).await?))
}

/// List live runs with filters, sorting and pagination.
#[utoipa::path(
    get, path = "/api/v1/runs/", tag = "runs",
    params(
        RunListParams,
        ("meta_filter" = Option<Vec<String>>, Query, explode,
            description = "`field:value`, repeatable. Split on the first colon, both sides trimmed. \
                Values of one field are OR'ed, fields AND'ed. The value compares with the text of \
                the JSON scalar (`n:5` matches 5 and \"5\", `flag:true`, `x:null`); objects and \
                arrays never match. Dots address nested fields (`address.city:Aarhus`).",
            example = json!(["clinic:Viby"])),
    ),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "One page of runs; Link and X-Total-Count headers", body = PageResponse<RunResponse>),
        (status = 400, description = "A meta_filter item is malformed (no colon, empty field or segment; the message names it), or the cursor is malformed, altered, for other filters or another sort, or sent with page", body = ErrorBody),
        (status = 422, description = "Invalid filter, order or page, or an unknown parameter", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn list_runs(
    _auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (params, meta_items): (RunListParams, _) = with_repeated(&req, "meta_filter")?;
    let page = pagination::paging(
        &req,
        &state,
        params.page,
        params.size,
        params.cursor.as_deref(),
        procdash_domain::page::MAX_PAGE_SIZE,
    );
    let parsed = params.parse(&meta_items);
    let (page, (filter, order)) = match (page, parsed) {
        (Ok(page), Ok(parsed)) => (page, parsed),
        (page, parsed) => {
            return Err(crate::error::merge(page.err(), parsed.err()));
        }
    };
    let rules = state.health.rules(state.read_db()).await?;
    let mut filter = filter;
    if let Some(health) = filter.health.as_ref().and_then(|h| h.health) {
        filter.health = Some(rules.condition(health));
    }
    let found = runs::list(state.read_db(), &filter, &order, &page).await?;
    let next = pagination::next_cursor(&req, &state, &found, |r| Position {
        key: sort_value(r, &order.field),
        id: r.id,
    });
    Ok(pagination::respond(
        &req,
        PageResponse::from_page(found, |run| {
            let health = rules.of(&run);
            RunResponse::new(run, health)
        })
        .with_next(next),
    ))
}

/// Get one live run with its step runs.
#[utoipa::path(
    get, path = "/api/v1/runs/{run_id}", tag = "runs",
    params(("run_id" = i64, Path, description = "Run id")),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The run", body = RunResponse),
        (status = 404, description = "No such live run", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn get_run(
    _auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let run = runs::get(&state.db, path.into_inner()).await?;
    let health = conditional::run_health(&state, &run).await?;
    let tag = conditional::tag(procdash_domain::etag::run_tag(&run, health.as_str()))?;
    conditional::tagged(&req, &tag, &RunResponse::new(run, health))
}

/// The value of the run's sort key, as a cursor carries it (null when the run has none).
fn sort_value(run: &ProcessRun, key: &RunSortKey) -> Value {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or(Value::Null, |t| pagination::by_time(t, run.id).key)
    };
    let text = |s: Option<&str>| s.map_or(Value::Null, |s| Value::String(s.to_owned()));
    match key {
        RunSortKey::Column(RunOrderField::Id) => Value::Null,
        RunSortKey::Column(RunOrderField::CreatedAt) => time(Some(run.created_at)),
        RunSortKey::Column(RunOrderField::UpdatedAt) => time(Some(run.updated_at)),
        RunSortKey::Column(RunOrderField::StartedAt) => time(run.started_at),
        RunSortKey::Column(RunOrderField::FinishedAt) => time(run.finished_at),
        RunSortKey::Column(RunOrderField::EntityId) => text(Some(&run.entity_id)),
        RunSortKey::Column(RunOrderField::EntityName) => text(run.entity_name.as_deref()),
        RunSortKey::Column(RunOrderField::Status) => text(Some(run.status.as_str())),
        RunSortKey::Meta(path) => path
            .segments()
            .iter()
            .try_fold(&run.meta, |v, key| v.get(key))
            .cloned()
            .unwrap_or(Value::Null),
    }
}
