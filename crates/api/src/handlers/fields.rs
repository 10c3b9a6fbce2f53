//! Field discovery for a process's runs: `searchable-fields` and its seed alias
//! `filter-metadata` answer the same body.

use actix_web::{HttpResponse, web};
use procdash_persistence::audit;
use procdash_persistence::repo::fields::{self, ValueAccess};

use crate::auth::{AnyRole, Auth};
use crate::dto::fields::SearchableFieldsResponse;
use crate::error::{ApiResult, ErrorBody};
use crate::responses;
use crate::state::AppState;

/// Reused while the data version stands (see [`crate::aggregate_cache`]): discovery reads
/// every live run of the process.
async fn discover(
    auth: &Auth<AnyRole>,
    state: &AppState,
    process_id: i64,
) -> ApiResult<HttpResponse> {
    let admin = auth.is_admin();
    let version = audit::version::data_version(state.read_db()).await?;
    let found = state
        .aggregates
        .fields
        .get_or_compute(
            &format!("{process_id}|{admin}"),
            version,
            compute(state, process_id, admin),
        )
        .await?;
    Ok(HttpResponse::Ok().json(&*found))
}

async fn compute(
    state: &AppState,
    process_id: i64,
    admin: bool,
) -> ApiResult<SearchableFieldsResponse> {
    // A user key sees the values of the fields neutralization keeps, nothing else.
    let access = if admin {
        ValueAccess::All
    } else {
        ValueAccess::KeptFields {
            default_keep: &state.lifecycle.neutralize_keep_fields,
        }
    };
    let found = fields::discover(state.read_db(), process_id, access).await?;
    Ok(SearchableFieldsResponse::new(found, &state.info.prefix))
}

/// The fields a process's runs can be filtered and sorted on, with the metadata values seen.
#[utoipa::path(
    get, path = "/api/v1/processes/{process_id}/searchable-fields", tag = "processes",
    params(("process_id" = i64, Path, description = "Process id")),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Standard and metadata fields; values of fields that neutralization removes are hidden from user keys", body = SearchableFieldsResponse),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn searchable_fields(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    discover(&auth, &state, path.into_inner()).await
}

/// The same as `searchable-fields`, under the seed's name.
#[utoipa::path(
    get, path = "/api/v1/processes/{process_id}/filter-metadata", tag = "processes",
    params(("process_id" = i64, Path, description = "Process id")),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The same body as searchable-fields", body = SearchableFieldsResponse),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn filter_metadata(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    discover(&auth, &state, path.into_inner()).await
}
