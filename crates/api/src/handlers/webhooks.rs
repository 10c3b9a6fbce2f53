//! Webhook subscriptions (admin): create (the secret is shown once), list, get, delete, the
//! deliveries of one, and a test event.

use actix_web::{HttpResponse, web};
use procdash_persistence::repo::{outbox, webhooks};

use crate::auth::{Admin, Auth};
use crate::dto::webhook::{
    CreateWebhookRequest, CreatedWebhookResponse, DeliveryResponse, WebhookResponse,
};
use crate::error::{ApiResult, ErrorBody};
use crate::responses;
use crate::state::AppState;

/// Deliveries listed per webhook, newest first.
const DELIVERIES_SHOWN: u64 = 100;

/// Subscribe a URL to events. The signing secret is in this answer only.
#[utoipa::path(
    post, path = "/api/v1/webhooks/", tag = "webhooks",
    request_body = CreateWebhookRequest,
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 201, description = "The webhook with its secret", body = CreatedWebhookResponse),
        (status = 404, description = "No such live process (process_id)", body = ErrorBody),
        (status = 422, description = "URL outside OUTBOUND_ALLOWED_HOSTS or private, unknown event, or invalid field", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly, responses::JsonBody,
    )
)]
pub async fn create_webhook(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<CreateWebhookRequest>,
) -> ApiResult<HttpResponse> {
    let new = body.into_inner().into_domain(&state.dispatch.policy)?;
    let secret = webhooks::generate_secret()?;
    let created = webhooks::create(&state.db, &auth.actor(), new, &secret).await?;
    Ok(HttpResponse::Created().json(CreatedWebhookResponse {
        webhook: created.into(),
        secret,
    }))
}

/// Every live webhook.
#[utoipa::path(
    get, path = "/api/v1/webhooks/", tag = "webhooks",
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The webhooks, without secrets", body = Vec<WebhookResponse>),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn list_webhooks(
    _auth: Auth<Admin>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<Vec<WebhookResponse>>> {
    let found = webhooks::list(&state.db).await?;
    Ok(web::Json(
        found.into_iter().map(WebhookResponse::from).collect(),
    ))
}

/// One webhook.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{webhook_id}", tag = "webhooks",
    params(("webhook_id" = i64, Path, description = "Webhook id")),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The webhook, without its secret", body = WebhookResponse),
        (status = 404, description = "No such live webhook", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn get_webhook(
    _auth: Auth<Admin>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<web::Json<WebhookResponse>> {
    Ok(web::Json(
        webhooks::get(&state.db, path.into_inner()).await?.into(),
    ))
}

/// Delete a webhook; its pending deliveries are not sent.
#[utoipa::path(
    delete, path = "/api/v1/webhooks/{webhook_id}", tag = "webhooks",
    params(("webhook_id" = i64, Path, description = "Webhook id")),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such live webhook", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn delete_webhook(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    webhooks::delete(&state.db, &auth.actor(), path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The latest deliveries of a webhook with their tries, newest first.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    params(("webhook_id" = i64, Path, description = "Webhook id")),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Up to 100 deliveries", body = Vec<DeliveryResponse>),
        (status = 404, description = "No such live webhook", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn list_deliveries(
    _auth: Auth<Admin>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<web::Json<Vec<DeliveryResponse>>> {
    let id = path.into_inner();
    webhooks::get(&state.db, id).await?;
    let found = outbox::for_webhook(&state.db, id, DELIVERIES_SHOWN).await?;
    Ok(web::Json(
        found.into_iter().map(DeliveryResponse::from).collect(),
    ))
}

/// Queue a `webhook.test` event for this webhook.
#[utoipa::path(
    post, path = "/api/v1/webhooks/{webhook_id}/test", tag = "webhooks",
    params(("webhook_id" = i64, Path, description = "Webhook id")),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 202, description = "The queued delivery", body = DeliveryResponse),
        (status = 404, description = "No such live webhook", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn test_webhook(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let delivery = webhooks::send_test(&state.db, &auth.actor(), path.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(DeliveryResponse::from(delivery)))
}
