//! Reuse of computed dashboards while the data under them has not changed.
//!
//! The overview and a process dashboard aggregate over every run of their scope (the process
//! dashboard's exact duration percentiles sort 250,000 step-run durations at 1,000,000 runs).
//! An answer is kept with the *data version* it was computed at: the newest change-log id,
//! which every audited write of a process, step, run or step run moves inside its own
//! transaction, read from the same connection as the data. An answer is reused only while the
//! version is unchanged and it is younger than the TTL (`DASHBOARD_CACHE_SECONDS`), which bounds
//! what the version cannot see: the passing of time (late, stuck, last 24 hours) and a
//! transaction that commits after a later one. Concurrent requests for one key wait for one
//! computation instead of each running it. Errors are never kept.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Keys kept at most; past it the map starts over (keys carry free-form windows).
const MAX_KEYS: usize = 1024;

struct Kept<T> {
    version: i64,
    at: Instant,
    value: Arc<T>,
}

type Slot<T> = Arc<tokio::sync::Mutex<Option<Kept<T>>>>;

/// Answers of one kind, by key.
pub struct AggregateCache<T> {
    ttl: Duration,
    slots: Mutex<HashMap<String, Slot<T>>>,
}

impl<T> AggregateCache<T> {
    /// A zero TTL keeps nothing: every request computes.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, key: &str) -> Slot<T> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if !slots.contains_key(key) && slots.len() >= MAX_KEYS {
            slots.clear();
        }
        Arc::clone(slots.entry(key.to_owned()).or_default())
    }

    /// The kept answer for `key` at `version` when still fresh, else `compute`'s (kept when Ok).
    pub async fn get_or_compute<E, F>(
        &self,
        key: &str,
        version: i64,
        compute: F,
    ) -> Result<Arc<T>, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        if self.ttl.is_zero() {
            return compute.await.map(Arc::new);
        }
        let slot = self.slot(key);
        // Held across the computation: a second request for the key waits and then reuses.
        let mut kept = slot.lock().await;
        if let Some(k) = kept.as_ref()
            && k.version == version
            && k.at.elapsed() < self.ttl
        {
            return Ok(Arc::clone(&k.value));
        }
        let value = Arc::new(compute.await?);
        *kept = Some(Kept {
            version,
            at: Instant::now(),
            value: Arc::clone(&value),
        });
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    async fn counted(
        cache: &AggregateCache<usize>,
        calls: &AtomicUsize,
        key: &str,
        version: i64,
    ) -> usize {
        *cache
            .get_or_compute::<(), _>(key, version, async {
                Ok(calls.fetch_add(1, Ordering::SeqCst) + 1)
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn an_answer_is_reused_only_at_the_same_version_and_key() {
        let cache = AggregateCache::new(Duration::from_secs(60));
        let calls = AtomicUsize::new(0);
        assert_eq!(counted(&cache, &calls, "a", 1).await, 1);
        assert_eq!(counted(&cache, &calls, "a", 1).await, 1);
        assert_eq!(counted(&cache, &calls, "b", 1).await, 2);
        assert_eq!(counted(&cache, &calls, "a", 2).await, 3);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_answer_expires_after_the_ttl_and_zero_keeps_nothing() {
        let cache = AggregateCache::new(Duration::from_millis(30));
        let calls = AtomicUsize::new(0);
        assert_eq!(counted(&cache, &calls, "a", 1).await, 1);
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(counted(&cache, &calls, "a", 1).await, 2);

        let off = AggregateCache::new(Duration::ZERO);
        let calls = AtomicUsize::new(0);
        assert_eq!(counted(&off, &calls, "a", 1).await, 1);
        assert_eq!(counted(&off, &calls, "a", 1).await, 2);
    }

    #[tokio::test]
    async fn errors_are_not_kept_and_concurrent_requests_share_one_computation() {
        let cache = Arc::new(AggregateCache::new(Duration::from_secs(60)));
        let failed: Result<Arc<usize>, &str> =
            cache.get_or_compute("a", 1, async { Err("no") }).await;
        assert!(failed.is_err());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (cache, calls) = (Arc::clone(&cache), Arc::clone(&calls));
            tasks.push(tokio::spawn(async move {
                *cache
                    .get_or_compute::<(), _>("a", 1, async {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(calls.fetch_add(1, Ordering::SeqCst) + 1)
                    })
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 1);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_key_map_is_bounded() {
        let cache = AggregateCache::new(Duration::from_secs(60));
        let calls = AtomicUsize::new(0);
        for i in 0..(MAX_KEYS + 10) {
            counted(&cache, &calls, &format!("k{i}"), 1).await;
        }
        assert!(cache.slots.lock().unwrap().len() <= MAX_KEYS);
    }
}
