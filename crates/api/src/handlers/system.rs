use actix_web::{HttpResponse, web};
use chrono::Utc;
use procdash_persistence::ping;

use crate::dto::system::{HealthResponse, InfoResponse, ReplicaHealth};
use crate::responses;
use crate::state::AppState;

/// Liveness and database reachability; 503 when the (primary) database does not answer. A
/// read replica that is down does not make the service unhealthy: reads go to the primary.
#[utoipa::path(
    get, path = "/health", tag = "system",
    responses(
        (status = 200, description = "Healthy", body = HealthResponse),
        (status = 503, description = "The database does not answer", body = HealthResponse),
        responses::Common,
    )
)]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let connected = ping(&state.db).await;
    let body = HealthResponse {
        status: if connected { "healthy" } else { "unhealthy" }.to_owned(),
        timestamp: Utc::now(),
        version: state.info.version.clone(),
        database: if connected {
            "connected"
        } else {
            "disconnected"
        }
        .to_owned(),
        uptime: format_uptime(state.started.elapsed().as_secs()),
        request_log_dropped: state.request_log.dropped(),
        read_replica: state.reads.replica_status().map(|r| ReplicaHealth {
            database: if r.up { "connected" } else { "disconnected" }.to_owned(),
            lag_seconds: r.lag_seconds,
            serving_reads: r.serving_reads,
        }),
    };
    if connected {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Name, version and features of this service.
#[utoipa::path(
    get, path = "/", tag = "system",
    responses(
        (status = 200, description = "Service information", body = InfoResponse),
        responses::Common,
    )
)]
pub async fn info(state: web::Data<AppState>) -> web::Json<InfoResponse> {
    web::Json(InfoResponse {
        name: state.info.name.clone(),
        version: state.info.version.clone(),
        description: "Monitoring and management of business processes, their runs and steps"
            .to_owned(),
        environment: state.info.environment.clone(),
        features: [
            "process_monitoring",
            "run_status_rollup",
            "pagination_link_headers",
            "openapi",
        ]
        .map(str::to_owned)
        .to_vec(),
    })
}

fn format_uptime(secs: u64) -> String {
    format!(
        "{}d {}h {}m",
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn uptime_is_days_hours_minutes() {
        assert_eq!(
            super::format_uptime(7 * 86_400 + 12 * 3_600 + 30 * 60 + 5),
            "7d 12h 30m"
        );
    }
}
