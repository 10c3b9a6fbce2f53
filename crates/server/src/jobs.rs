//! Periodic work inside the server: usage flush, request-log purge, rate-limiter shrink.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use procdash_api::AppState;
use procdash_persistence::repo::request_logs;

use crate::settings::Settings;

pub fn spawn_all(state: Arc<AppState>, settings: &Settings) {
    let flush_every = Duration::from_secs(settings.usage_flush_seconds.max(1));
    let flush_state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(flush_every);
        loop {
            tick.tick().await;
            flush_state.keys.flush_usage().await;
        }
    });
    let retention = chrono::Duration::days(settings.request_log_retention_days.max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match request_logs::purge(&state.db, Utc::now() - retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "old request-log rows purged"),
                Err(e) => tracing::warn!(error = %e, "request-log purge failed"),
            }
            if let Some(limiter) = &state.limiter {
                limiter.shrink();
            }
        }
    });
}
