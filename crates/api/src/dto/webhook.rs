//! Bodies of the webhook routes. The secret appears once, in the creation answer.

use chrono::{DateTime, Utc};
use procdash_domain::outbound::OutboundPolicy;
use procdash_persistence::entities::outbox;
use procdash_persistence::repo::webhooks::{EVENTS, NewWebhook, Webhook};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::rerun::TryResponse;
use crate::error::{ApiError, ApiResult};

/// A subscription to events.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://hooks.example.com/procdash", "events": ["run.failed", "rerun.dispatch_failed"], "process_id": 1}))]
pub struct CreateWebhookRequest {
    /// Must be in OUTBOUND_ALLOWED_HOSTS.
    pub url: String,
    /// run.failed, run.completed, run.cancelled, run.stuck, step_run.failed,
    /// rerun.dispatch_failed.
    pub events: Vec<String>,
    /// Only events of this process.
    pub process_id: Option<i64>,
}

impl CreateWebhookRequest {
    pub fn into_domain(self, policy: &OutboundPolicy) -> ApiResult<NewWebhook> {
        let mut errors = Vec::new();
        if let Err(why) = policy.check_url(&self.url) {
            errors.push(procdash_domain::FieldError::new("url", why));
        }
        if self.events.is_empty() {
            errors.push(procdash_domain::FieldError::new(
                "events",
                "must not be empty",
            ));
        }
        for e in &self.events {
            if !EVENTS.contains(&e.as_str()) {
                errors.push(procdash_domain::FieldError::new(
                    "events",
                    format!("unknown event {e:?}; known: {}", EVENTS.join(", ")),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let mut events = self.events;
        events.sort();
        events.dedup();
        Ok(NewWebhook {
            url: self.url,
            events,
            process_id: self.process_id,
        })
    }
}

/// A webhook, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResponse {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub process_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl From<Webhook> for WebhookResponse {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id,
            url: w.url,
            events: w.events,
            process_id: w.process_id,
            created_at: w.created_at,
        }
    }
}

/// The created webhook with its signing secret: shown in this answer only.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookResponse {
    #[serde(flatten)]
    pub webhook: WebhookResponse,
    /// Signs every delivery (Procdash-Signature). Store it now: it is never shown again.
    #[schema(example = "whsec_6b1f...")]
    pub secret: String,
}

/// One delivery of a webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryResponse {
    pub id: i64,
    /// The Procdash-Delivery header and the body's id.
    pub delivery_id: String,
    #[schema(example = "run.failed")]
    pub event_type: Option<String>,
    /// pending, delivered or failed.
    pub state: String,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub tries: Vec<TryResponse>,
    pub created_at: DateTime<Utc>,
}

impl From<outbox::Model> for DeliveryResponse {
    fn from(m: outbox::Model) -> Self {
        let tries = procdash_persistence::repo::outbox::tries(&m)
            .into_iter()
            .map(TryResponse::from)
            .collect();
        Self {
            id: m.id,
            next_attempt_at: (m.state == "pending").then_some(m.next_attempt_at),
            delivery_id: m.delivery_id,
            event_type: m.event_type,
            state: m.state,
            tries,
            created_at: m.created_at,
        }
    }
}
