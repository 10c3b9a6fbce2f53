//! Per-key (or per-IP) rate limiting with governor, and the headers that describe it.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

type Keyed =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

#[derive(Debug, Clone, Copy)]
pub struct RateLimitConfig {
    pub requests: u32,
    pub period: Duration,
    /// A separate, usually higher, allowance for admin keys.
    pub admin_requests: u32,
}

/// The state of one caller's allowance after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the allowance is full again.
    pub reset_seconds: u64,
    /// Seconds to wait before retrying, when refused.
    pub retry_after: u64,
}

pub struct Limiter {
    clock: DefaultClock,
    standard: (Keyed, u32, Duration),
    admin: (Keyed, u32, Duration),
}

fn keyed(requests: u32, period: Duration) -> (Keyed, u32, Duration) {
    let burst = NonZeroU32::new(requests.max(1)).unwrap_or(NonZeroU32::MIN);
    let per_request = (period / burst.get()).max(Duration::from_nanos(1));
    let quota = Quota::with_period(per_request)
        .map_or_else(|| Quota::per_second(burst), |q| q.allow_burst(burst));
    (
        RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
        burst.get(),
        per_request,
    )
}

impl Limiter {
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            clock: DefaultClock::default(),
            standard: keyed(config.requests, config.period),
            admin: keyed(config.admin_requests, config.period),
        }
    }

    /// Takes one request from `key`'s allowance.
    pub fn check(&self, key: &str, admin: bool) -> Decision {
        let (limiter, limit, per_request) = if admin { &self.admin } else { &self.standard };
        match limiter.check_key(&key.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = u64::from(limit.saturating_sub(remaining));
                let reset = (per_request.as_secs_f64() * used as f64).ceil() as u64;
                Decision {
                    allowed: true,
                    limit: *limit,
                    remaining,
                    reset_seconds: reset,
                    retry_after: 0,
                }
            }
            Err(not_until) => {
                let wait = not_until
                    .wait_time_from(self.clock.now())
                    .as_secs_f64()
                    .ceil()
                    .max(1.0) as u64;
                let full = (per_request.as_secs_f64() * f64::from(*limit)).ceil() as u64;
                Decision {
                    allowed: false,
                    limit: *limit,
                    remaining: 0,
                    reset_seconds: full,
                    retry_after: wait,
                }
            }
        }
    }

    /// Forgets callers whose allowance is full again, so memory stays bounded.
    pub fn shrink(&self) {
        self.standard.0.retain_recent();
        self.admin.0.retain_recent();
    }
}

/// Where allowances are kept: this instance's memory, or Redis shared by every instance.
pub enum RateLimitStore {
    Memory(Limiter),
    Redis(crate::auth::shared_limit::SharedLimiter),
}

/// A Redis store for the allowances (RATE_LIMIT_STORE=redis).
#[derive(Debug, Clone)]
pub struct RedisStoreSettings {
    pub url: String,
    /// Prefix of every Redis key, so deployments (and tests) sharing a Redis stay apart.
    pub prefix: String,
}

impl RateLimitStore {
    /// The configured store; a Redis URL the client refuses is logged and memory is used.
    pub fn new(config: RateLimitConfig, redis: Option<&RedisStoreSettings>) -> Self {
        let Some(r) = redis else {
            return Self::Memory(Limiter::new(config));
        };
        match crate::auth::shared_limit::SharedLimiter::new(&r.url, &r.prefix, config) {
            Ok(shared) => Self::Redis(shared),
            Err(e) => {
                tracing::error!(error = %e, "cannot use Redis for rate limits; limiting per instance");
                Self::Memory(Limiter::new(config))
            }
        }
    }

    pub async fn check(&self, key: &str, admin: bool) -> Decision {
        match self {
            Self::Memory(l) => l.check(key, admin),
            Self::Redis(r) => r.check(key, admin).await,
        }
    }

    pub fn shrink(&self) {
        match self {
            Self::Memory(l) => l.shrink(),
            Self::Redis(r) => r.shrink(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_is_the_limit_and_then_refused() {
        let limiter = Limiter::new(RateLimitConfig {
            requests: 3,
            period: Duration::from_secs(60),
            admin_requests: 10,
        });
        let d: Vec<Decision> = (0..4).map(|_| limiter.check("k", false)).collect();
        assert_eq!(
            d.iter().map(|d| d.remaining).collect::<Vec<_>>(),
            [2, 1, 0, 0]
        );
        assert!(d[..3].iter().all(|d| d.allowed));
        assert!(!d[3].allowed && d[3].retry_after >= 1);
        assert!(
            limiter.check("other", false).allowed,
            "keys are limited separately"
        );
        assert!(
            limiter.check("k", true).allowed,
            "admins have their own allowance"
        );
    }
}
