//! Rate limits shared by every instance: the same GCRA as the in-memory limiter, kept in Redis by
//! one server-side script, so a caller's allowance holds for the sum of all instances.
//!
//! Redis being down must never refuse traffic: each call is bounded by a short timeout, and on
//! any failure the decision falls back to this instance's own in-memory limiter (a warning is
//! logged at most once a minute).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::auth::rate_limit::{Decision, Limiter, RateLimitConfig};

/// How long one Redis call may take before the instance decides on its own.
const CALL_TIMEOUT: Duration = Duration::from_millis(250);
const WARN_EVERY: Duration = Duration::from_secs(60);

/// GCRA with the theoretical arrival time (TAT) in milliseconds of Redis's own clock, so
/// instances with skewed clocks agree. KEYS[1]: the caller; ARGV[1]: emission interval in ms;
/// ARGV[2]: burst. Returns {allowed, remaining, retry_after_ms, reset_ms}.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tolerance = interval * burst
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tolerance
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now))
return {1, math.floor((tolerance - (new_tat - now)) / interval), 0, new_tat - now}
";

pub struct SharedLimiter {
    connection: ConnectionManager,
    script: Script,
    prefix: String,
    config: RateLimitConfig,
    fallback: Limiter,
    last_warning: Mutex<Option<Instant>>,
}

impl SharedLimiter {
    /// Connects lazily: a Redis that is down at start only means per-instance limits for now.
    pub fn new(url: &str, prefix: &str, config: RateLimitConfig) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("REDIS_URL: {e}"))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(CALL_TIMEOUT))
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_lazy_with_config(client, manager_config)
            .map_err(|e| format!("REDIS_URL: {e}"))?;
        Ok(Self {
            connection,
            script: Script::new(GCRA),
            prefix: prefix.to_owned(),
            config,
            fallback: Limiter::new(config),
            last_warning: Mutex::new(None),
        })
    }

    /// Takes one request from `key`'s shared allowance.
    pub async fn check(&self, key: &str, admin: bool) -> Decision {
        let limit = if admin {
            self.config.admin_requests
        } else {
            self.config.requests
        }
        .max(1);
        let interval_ms = (self.config.period.as_millis() / u128::from(limit)).max(1);
        let tier = if admin { "admin" } else { "standard" };
        let redis_key = format!("{}:rl:{tier}:{key}", self.prefix);
        let mut conn = self.connection.clone();
        let mut invocation = self.script.key(redis_key);
        invocation
            .arg(u64::try_from(interval_ms).unwrap_or(u64::MAX))
            .arg(limit);
        let call = invocation.invoke_async::<(i64, i64, i64, i64)>(&mut conn);
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok((allowed, remaining, retry_ms, reset_ms))) => Decision {
                allowed: allowed == 1,
                limit,
                remaining: u32::try_from(remaining.max(0)).unwrap_or(0),
                reset_seconds: ceil_seconds(reset_ms),
                retry_after: if allowed == 1 {
                    0
                } else {
                    ceil_seconds(retry_ms).max(1)
                },
            },
            Ok(Err(e)) => self.fall_back(key, admin, &e.to_string()),
            Err(_) => self.fall_back(key, admin, "timed out"),
        }
    }

    fn fall_back(&self, key: &str, admin: bool, why: &str) -> Decision {
        let now = Instant::now();
        if let Ok(mut last) = self.last_warning.lock()
            && last.is_none_or(|at| now.duration_since(at) >= WARN_EVERY)
        {
            *last = Some(now);
            tracing::warn!(
                error = why,
                "Redis rate-limit store unavailable; limiting per instance"
            );
        }
        self.fallback.check(key, admin)
    }

    pub fn shrink(&self) {
        self.fallback.shrink();
    }
}

fn ceil_seconds(ms: i64) -> u64 {
    u64::try_from(ms.max(0)).unwrap_or(0).div_ceil(1000)
}
