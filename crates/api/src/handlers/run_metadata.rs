//! Editing a run's metadata (admin).

use actix_web::{HttpRequest, HttpResponse, web};
use procdash_domain::etag;
use procdash_persistence::repo::run_metadata::{self, MetadataUpdateError};

use crate::auth::{Admin, Auth};
use crate::conditional;
use crate::dto::run::RunResponse;
use crate::dto::run_metadata::UpdateRunMetadataRequest;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::responses;
use crate::state::AppState;

impl From<MetadataUpdateError> for ApiError {
    fn from(err: MetadataUpdateError) -> Self {
        match err {
            // Names keys only: metadata values may be personal data.
            MetadataUpdateError::UnknownKeys(keys) => Self::BadRequest(keys.to_string()),
            MetadataUpdateError::Persistence(e) => e.into(),
        }
    }
}

/// Change values of existing top-level metadata keys of a run (a shallow merge).
#[utoipa::path(
    patch, path = "/api/v1/runs/{run_id}/metadata", tag = "runs",
    params(("run_id" = i64, Path, description = "Run id")),
    request_body = UpdateRunMetadataRequest,
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The run with its new metadata; an empty update changes nothing", body = RunResponse),
        (status = 400, description = "A key the run's metadata does not have (the message names the unknown and the existing keys), or an unreadable body", body = ErrorBody),
        (status = 404, description = "No such live run, or the run is neutralized", body = ErrorBody),
        (status = 422, description = "meta is missing or not an object, an unknown body field, or the id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly, responses::JsonBody,
    )
)]
pub async fn update_run_metadata(
    auth: Auth<Admin>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<UpdateRunMetadataRequest>,
) -> ApiResult<HttpResponse> {
    let update = body.into_inner().into_domain()?;
    let id = path.into_inner();
    let pre = conditional::run_precondition(&req, &state, id).await?;
    let run = run_metadata::update(&state.db, &auth.actor(), id, update, pre.as_ref()).await?;
    let health = conditional::run_health(&state, &run).await?;
    let tag = conditional::tag(etag::run_tag(&run, health.as_str()))?;
    Ok(conditional::written(&tag, &RunResponse::new(run, health)))
}
