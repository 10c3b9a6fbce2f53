use crate::paging::{self, SortSpec};
use chrono::{DateTime, Utc};
use procdash_domain::Page;
use procdash_domain::api_key::{
    ApiKey, KEY_RANDOM_BYTES, NewApiKey, display_prefix, format_key, hash_key,
};
use procdash_domain::{Paging, SortDirection};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, Set,
};
use tracing::instrument;

use crate::audit::{self, Change, snapshot};
use crate::entities::api_key;
use crate::{Actor, PersistenceError, clock, notify, tx};

fn to_domain(m: api_key::Model) -> Result<ApiKey, PersistenceError> {
    Ok(ApiKey {
        id: m.id,
        role: m
            .role
            .parse()
            .map_err(|_| PersistenceError::Corrupt(format!("unknown role {:?}", m.role)))?,
        name: m.name,
        description: m.description,
        is_active: m.is_active,
        expires_at: m.expires_at,
        key_prefix: m.key_prefix,
        usage_count: m.usage_count,
        last_used_at: m.last_used_at,
        revoked_at: m.revoked_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
        created_by: m.created_by,
    })
}

/// A fresh key from the operating system's CSPRNG.
pub fn generate_key() -> Result<String, PersistenceError> {
    let mut random = [0u8; KEY_RANDOM_BYTES];
    getrandom::fill(&mut random)
        .map_err(|e| PersistenceError::Corrupt(format!("no randomness: {e}")))?;
    Ok(format_key(&random))
}

/// Creates a key and returns it with its plaintext, which is never stored.
#[instrument(skip_all, fields(name = %new.name, role = %new.role))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewApiKey,
) -> Result<(ApiKey, String), PersistenceError> {
    let plaintext = generate_key()?;
    let key = create_with_plaintext(db, actor, new, &plaintext).await?;
    Ok((key, plaintext))
}

/// Stores a key whose plaintext the caller chose (container bootstrap).
pub async fn create_with_plaintext(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewApiKey,
    plaintext: &str,
) -> Result<ApiKey, PersistenceError> {
    let now = clock::now();
    let txn = tx::begin_write(db).await?;
    let model = api_key::ActiveModel {
        name: Set(new.name),
        description: Set(new.description),
        role: Set(new.role.as_str().to_owned()),
        key_hash: Set(hash_key(plaintext)),
        key_prefix: Set(display_prefix(plaintext)),
        is_active: Set(true),
        expires_at: Set(new.expires_at),
        usage_count: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(actor.label()),
        updated_by: Set(actor.label()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| PersistenceError::conflict_on_unique(e, "this key already exists"))?;
    let change = Change {
        entity: "api_key",
        record_id: model.id,
        operation: "create",
        before: None,
        after: Some(snapshot::api_key(&model)),
    };
    audit::record(&txn, actor, change).await?;
    txn.commit().await?;
    to_domain(model)
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, PersistenceError> {
    Ok(api_key::Entity::find().count(db).await?)
}

#[instrument(skip(db))]
pub async fn list(
    db: &impl ConnectionTrait,
    paging: &Paging,
) -> Result<Page<ApiKey>, PersistenceError> {
    let query = api_key::Entity::find().filter(api_key::Column::DeletedAt.is_null());
    let sort = SortSpec::by_id(Expr::col(api_key::Column::Id), SortDirection::Asc);
    let (query, total) = paging::window(db, query, &sort, paging).await?;
    let rows = query.all(db).await?;
    let items = rows
        .into_iter()
        .map(to_domain)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(paging::page(items, total, paging))
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<ApiKey, PersistenceError> {
    let row = api_key::Entity::find_by_id(id)
        .filter(api_key::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| PersistenceError::not_found("API key", id))?;
    to_domain(row)
}

/// The key with this hash, whatever its state, so the caller can tell expired from unknown.
pub async fn find_by_hash(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Option<ApiKey>, PersistenceError> {
    let row = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash))
        .filter(api_key::Column::DeletedAt.is_null())
        .one(db)
        .await?;
    row.map(to_domain).transpose()
}

/// Flips is_active. A revoked key stays revoked.
#[instrument(skip(db, actor))]
pub async fn toggle(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<ApiKey, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let current = get(&txn, id).await?;
    if current.revoked_at.is_some() {
        return Err(PersistenceError::Conflict(format!(
            "API key {id} is revoked and cannot be re-activated"
        )));
    }
    let before = before_snapshot(&txn, id).await?;
    let model = api_key::ActiveModel {
        id: Set(id),
        is_active: Set(!current.is_active),
        updated_at: Set(clock::now()),
        updated_by: Set(actor.label()),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    let change = Change {
        entity: "api_key",
        record_id: id,
        operation: "toggle",
        before,
        after: Some(snapshot::api_key(&model)),
    };
    audit::record(&txn, actor, change).await?;
    // Other instances evict the key from their caches when this commits.
    notify::publish(&txn, notify::KEYS_CHANNEL, &id.to_string()).await?;
    txn.commit().await?;
    to_domain(model)
}

async fn before_snapshot(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<serde_json::Value>, PersistenceError> {
    Ok(api_key::Entity::find_by_id(id)
        .one(db)
        .await?
        .as_ref()
        .map(snapshot::api_key))
}

/// Revokes a key for good; the row stays for the audit trail and usage history.
#[instrument(skip(db, actor))]
pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<ApiKey, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let current = get(&txn, id).await?;
    if current.revoked_at.is_some() {
        return Err(PersistenceError::not_found("API key", id));
    }
    let before = before_snapshot(&txn, id).await?;
    let now = clock::now();
    let model = api_key::ActiveModel {
        id: Set(id),
        is_active: Set(false),
        revoked_at: Set(Some(now)),
        updated_at: Set(now),
        updated_by: Set(actor.label()),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    let change = Change {
        entity: "api_key",
        record_id: id,
        operation: "revoke",
        before,
        after: Some(snapshot::api_key(&model)),
    };
    audit::record(&txn, actor, change).await?;
    // Other instances evict the key from their caches when this commits.
    notify::publish(&txn, notify::KEYS_CHANNEL, &id.to_string()).await?;
    txn.commit().await?;
    to_domain(model)
}

/// Adds counted uses in one statement per key (the batch of a flush).
pub async fn add_usage(
    db: &DatabaseConnection,
    usage: &[(i64, u64, DateTime<Utc>)],
) -> Result<(), PersistenceError> {
    if usage.is_empty() {
        return Ok(());
    }
    let txn = tx::begin_write(db).await?;
    for (id, count, last_used) in usage {
        let count = i64::try_from(*count).unwrap_or(i64::MAX);
        api_key::Entity::update_many()
            .col_expr(
                api_key::Column::UsageCount,
                Expr::col(api_key::Column::UsageCount).add(count),
            )
            .col_expr(api_key::Column::LastUsedAt, Expr::value(*last_used))
            .filter(api_key::Column::Id.eq(*id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The latest change to any key (keys are never deleted: revoking and toggling update the row).
/// Instances without change notices (SQLite) poll it to know when to forget their cached keys.
pub async fn change_mark(
    db: &impl ConnectionTrait,
) -> Result<Option<DateTime<Utc>>, PersistenceError> {
    use sea_orm::QuerySelect;
    let mark: Option<Option<DateTime<Utc>>> = api_key::Entity::find()
        .select_only()
        .column_as(api_key::Column::UpdatedAt.max(), "mark")
        .into_tuple()
        .one(db)
        .await?;
    Ok(mark.flatten())
}
