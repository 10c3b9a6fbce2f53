use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use procdash_domain::api_key::{ApiKey, KeyRejection, hash_key};
use procdash_persistence::DatabaseConnection;
use procdash_persistence::notify::{self, Notice};
use procdash_persistence::repo::api_keys;
use subtle::ConstantTimeEq;

use crate::auth::{AuthFailure, Principal};

const CACHE_TTL: Duration = Duration::from_secs(30);

struct Cached {
    key: ApiKey,
    hash: String,
    fetched: Instant,
}

/// Looks keys up by hash with a short cache, and counts their use in memory.
///
/// Revoking or toggling through this instance evicts the key at once; through another instance
/// on the same PostgreSQL database, as soon as its notice arrives (see [`KeyStore::follow_notices`]),
/// and at the latest after the 30 s cache lifetime. Expiry is checked on every request against the
/// cached expires_at, so it is immediate too.
pub struct KeyStore {
    db: DatabaseConnection,
    by_hash: Arc<Mutex<HashMap<String, Cached>>>,
    usage: Mutex<HashMap<i64, (u64, DateTime<Utc>)>>,
}

fn rejection(r: KeyRejection) -> AuthFailure {
    match r {
        KeyRejection::Invalid => AuthFailure::Invalid,
        KeyRejection::Expired => AuthFailure::Expired,
    }
}

impl KeyStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            by_hash: Arc::new(Mutex::new(HashMap::new())),
            usage: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, hash: &str) -> Option<ApiKey> {
        let cache = self.by_hash.lock().ok()?;
        let entry = cache.get(hash)?;
        let same = entry.hash.as_bytes().ct_eq(hash.as_bytes()).into();
        (same && entry.fetched.elapsed() < CACHE_TTL).then(|| entry.key.clone())
    }

    fn remember(&self, hash: String, key: ApiKey) {
        if let Ok(mut cache) = self.by_hash.lock() {
            cache.insert(
                hash.clone(),
                Cached {
                    key,
                    hash,
                    fetched: Instant::now(),
                },
            );
        }
    }

    /// Authenticates a plaintext key.
    pub async fn authenticate(&self, plaintext: &str) -> Result<Principal, AuthFailure> {
        let hash = hash_key(plaintext);
        let key = match self.cached(&hash) {
            Some(k) => k,
            None => {
                let found = api_keys::find_by_hash(&self.db, &hash).await.map_err(|e| {
                    tracing::error!(error = %e, "API key lookup failed");
                    AuthFailure::Unavailable
                })?;
                let key = found.ok_or(AuthFailure::Invalid)?;
                self.remember(hash, key.clone());
                key
            }
        };
        self.accept(key)
    }

    /// Authenticates the key a token stands for; the key must still be usable.
    pub async fn authenticate_id(&self, id: i64) -> Result<Principal, AuthFailure> {
        let cached = self.by_hash.lock().ok().and_then(|c| {
            c.values()
                .find(|e| e.key.id == id && e.fetched.elapsed() < CACHE_TTL)
                .map(|e| e.key.clone())
        });
        let key = match cached {
            Some(k) => k,
            None => api_keys::get(&self.db, id).await.map_err(|e| match e {
                procdash_persistence::PersistenceError::NotFound { .. } => {
                    AuthFailure::InvalidToken
                }
                other => {
                    tracing::error!(error = %other, "API key lookup failed");
                    AuthFailure::Unavailable
                }
            })?,
        };
        self.accept(key).map_err(|_| AuthFailure::InvalidToken)
    }

    fn accept(&self, key: ApiKey) -> Result<Principal, AuthFailure> {
        let now = Utc::now();
        key.check_usable(now).map_err(rejection)?;
        self.record_use(key.id, now);
        Ok(Principal {
            key_id: key.id,
            name: key.name,
            role: key.role,
            via_token: false,
        })
    }

    /// Drops a key from the cache after it changed on this instance.
    pub fn evict(&self, id: i64) {
        evict_from(&self.by_hash, id);
    }

    /// Forgets every cached key (after a database restore replaced them).
    pub fn clear(&self) {
        clear_all(&self.by_hash);
    }

    /// Evicts keys that change through other instances: on PostgreSQL as their notices arrive
    /// (after the listener (re)connects, when notices may have been missed, it forgets every
    /// cached key); on SQLite, which has no notices, by polling the keys' latest change every
    /// second. Call once, inside the runtime.
    pub fn follow_notices(&self) {
        let cache = self.by_hash.clone();
        let Some(mut notices) = notify::subscribe(&self.db, notify::KEYS_CHANNEL) else {
            tokio::spawn(poll_changes(self.db.clone(), cache));
            return;
        };
        tokio::spawn(async move {
            while let Some(notice) = notices.recv().await {
                match notice {
                    Notice::Message(id) => match id.parse::<i64>() {
                        Ok(id) => evict_from(&cache, id),
                        Err(_) => clear_all(&cache),
                    },
                    Notice::Resync => clear_all(&cache),
                }
            }
        });
    }

    fn record_use(&self, id: i64, at: DateTime<Utc>) {
        if let Ok(mut usage) = self.usage.lock() {
            let entry = usage.entry(id).or_insert((0, at));
            entry.0 += 1;
            entry.1 = at;
        }
    }

    /// Writes the counted uses in one batch; on failure they are put back for the next flush.
    pub async fn flush_usage(&self) {
        let batch: Vec<(i64, u64, DateTime<Utc>)> = match self.usage.lock() {
            Ok(mut usage) => usage.drain().map(|(id, (n, at))| (id, n, at)).collect(),
            Err(_) => return,
        };
        if batch.is_empty() {
            return;
        }
        if let Err(e) = api_keys::add_usage(&self.db, &batch).await {
            tracing::warn!(error = %e, "usage flush failed; will retry");
            if let Ok(mut usage) = self.usage.lock() {
                for (id, n, at) in batch {
                    let entry = usage.entry(id).or_insert((0, at));
                    entry.0 += n;
                    entry.1 = entry.1.max(at);
                }
            }
        }
    }
}

fn evict_from(cache: &Mutex<HashMap<String, Cached>>, id: i64) {
    if let Ok(mut cache) = cache.lock() {
        cache.retain(|_, e| e.key.id != id);
    }
}

fn clear_all(cache: &Mutex<HashMap<String, Cached>>) {
    if let Ok(mut cache) = cache.lock() {
        cache.clear();
    }
}

/// Forgets the cached keys whenever any key row changed since the last look.
async fn poll_changes(db: DatabaseConnection, cache: Arc<Mutex<HashMap<String, Cached>>>) {
    let mut seen = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        match api_keys::change_mark(&db).await {
            Ok(mark) if mark != seen => {
                if seen.is_some() {
                    clear_all(&cache);
                }
                seen = mark;
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "cannot poll API key changes"),
        }
    }
}
