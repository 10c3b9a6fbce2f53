use actix_web::{HttpRequest, HttpResponse, web};
use procdash_persistence::repo::api_keys;

use crate::auth::{Admin, Auth};
use crate::dto::api_key::{ApiKeyResponse, CreateApiKeyRequest, CreatedApiKeyResponse};
use crate::error::{ApiResult, ErrorBody};
use crate::pagination::{self, PageParams, PageResponse};
use crate::responses;
use crate::state::AppState;

/// Create an API key. The plaintext `key` is returned in this response only.
#[utoipa::path(
    post, path = "/api/v1/api-keys/", tag = "api-keys",
    request_body = CreateApiKeyRequest,
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 201, description = "The key, with its plaintext", body = CreatedApiKeyResponse),
        (status = 422, description = "Invalid field (role must be admin or user)", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly, responses::JsonBody,
    )
)]
pub async fn create_api_key(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<CreateApiKeyRequest>,
) -> ApiResult<HttpResponse> {
    let new = body.into_inner().into_domain()?;
    let (key, plaintext) = api_keys::create(&state.db, &auth.actor(), new).await?;
    Ok(HttpResponse::Created().json(CreatedApiKeyResponse {
        record: key.into(),
        key: plaintext,
    }))
}

/// List API keys (also served at /admin/api-keys/).
#[utoipa::path(
    get, path = "/api/v1/api-keys/", tag = "api-keys",
    params(PageParams),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One page of keys", body = PageResponse<ApiKeyResponse>),
        (status = 422, description = "Invalid page or size", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly, responses::Paged,
    )
)]
pub async fn list_api_keys(
    _auth: Auth<Admin>,
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let page = api_keys::list(&state.db, &params.paging(&req, &state)?).await?;
    let next = pagination::next_cursor(&req, &state, &page, |k| pagination::by_id(k.id));
    Ok(pagination::respond(
        &req,
        PageResponse::from_page(page, ApiKeyResponse::from).with_next(next),
    ))
}

/// List API keys (the seed's admin path).
#[utoipa::path(
    get, path = "/api/v1/admin/api-keys/", tag = "api-keys",
    params(PageParams),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One page of keys", body = PageResponse<ApiKeyResponse>),
        (status = 422, description = "Invalid page or size", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly, responses::Paged,
    )
)]
pub async fn list_api_keys_admin(
    auth: Auth<Admin>,
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    list_api_keys(auth, req, state, params).await
}

/// One API key.
#[utoipa::path(
    get, path = "/api/v1/api-keys/{key_id}", tag = "api-keys",
    params(("key_id" = i64, Path, description = "API key id")),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The key", body = ApiKeyResponse),
        (status = 404, description = "No such key", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn get_api_key(
    _auth: Auth<Admin>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<web::Json<ApiKeyResponse>> {
    Ok(web::Json(
        api_keys::get(&state.db, path.into_inner()).await?.into(),
    ))
}

/// Activate or deactivate a key; takes effect at once.
#[utoipa::path(
    patch, path = "/api/v1/api-keys/{key_id}/toggle", tag = "api-keys",
    params(("key_id" = i64, Path, description = "API key id")),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The key with its new state", body = ApiKeyResponse),
        (status = 404, description = "No such key", body = ErrorBody),
        (status = 409, description = "The key is revoked", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn toggle_api_key(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<web::Json<ApiKeyResponse>> {
    let id = path.into_inner();
    let key = api_keys::toggle(&state.db, &auth.actor(), id).await?;
    state.keys.evict(id);
    Ok(web::Json(key.into()))
}

/// Revoke a key: it stops working at once; the row stays for the audit trail.
#[utoipa::path(
    delete, path = "/api/v1/api-keys/{key_id}", tag = "api-keys",
    params(("key_id" = i64, Path, description = "API key id")),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such key, or already revoked", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn revoke_api_key(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    api_keys::revoke(&state.db, &auth.actor(), id).await?;
    state.keys.evict(id);
    Ok(HttpResponse::NoContent().finish())
}
