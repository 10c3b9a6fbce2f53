//! Field discovery for a process's runs, computed in SQL: the metadata keys of its live runs
//! with their JSON types (json_each / jsonb_each), and a bounded list of distinct scalar values
//! per key. Runs are never loaded into memory.

use std::collections::{BTreeMap, BTreeSet};

use procdash_domain::fields::{
    self, DeclaredField, JsonType, MAX_LISTED_VALUES, ValuesListing, declared_fields,
};
use procdash_domain::lifecycle::keep_fields;
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use serde_json::Value;
use tracing::instrument;

use crate::PersistenceError;
use crate::repo::processes;

/// Whose values the caller may see.
#[derive(Debug, Clone, Copy)]
pub enum ValueAccess<'a> {
    /// Every field's values (admin keys).
    All,
    /// Only the fields neutralization keeps: the process's keep-list, else this default.
    KeptFields { default_keep: &'a [String] },
}

/// One metadata key of a process's runs.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataField {
    pub name: String,
    pub declared: Option<DeclaredField>,
    /// The JSON types the key holds in live runs.
    pub observed_types: BTreeSet<JsonType>,
    pub listing: ValuesListing,
    /// Distinct scalar values of runs that are not neutralized, when `listing` shows them.
    pub values: Vec<Value>,
}

impl MetadataField {
    pub fn field_type(&self) -> String {
        fields::reported_type(
            self.declared.as_ref().and_then(|d| d.field_type.as_deref()),
            &self.observed_types,
        )
    }
}

/// What a client can filter and sort a process's runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDiscovery {
    pub process_id: i64,
    pub process_name: String,
    /// By key.
    pub metadata: Vec<MetadataField>,
}

#[derive(Debug, FromQueryResult)]
struct KeyType {
    key: String,
    json_type: String,
}

#[derive(Debug, FromQueryResult)]
struct JsonText {
    v: String,
}

/// The fields of a live process's runs.
#[instrument(skip(db, access))]
pub async fn discover(
    db: &impl ConnectionTrait,
    process_id: i64,
    access: ValueAccess<'_>,
) -> Result<FieldDiscovery, PersistenceError> {
    let process = processes::find_live(db, process_id).await?;
    let backend = db.get_database_backend();
    let mut keys: BTreeMap<String, (Option<DeclaredField>, BTreeSet<JsonType>)> = BTreeMap::new();
    for declared in declared_fields(&process.meta) {
        keys.insert(declared.name.clone(), (Some(declared), BTreeSet::new()));
    }
    for row in observed_types(db, backend, process_id).await? {
        let json_type = JsonType::from_sql_name(&row.json_type).ok_or_else(|| {
            PersistenceError::Corrupt(format!("unknown JSON type {:?}", row.json_type))
        })?;
        keys.entry(row.key).or_default().1.insert(json_type);
    }
    let visible: Option<Vec<String>> = match access {
        ValueAccess::All => None,
        ValueAccess::KeptFields { default_keep } => Some(keep_fields(&process.meta, default_keep)),
    };
    let mut metadata = Vec::with_capacity(keys.len());
    for (name, (declared, observed_types)) in keys {
        let may_hold_scalars =
            observed_types.is_empty() || observed_types.iter().any(|t| t.is_filter_scalar());
        let (listing, values) = if visible.as_ref().is_some_and(|v| !v.contains(&name)) {
            (ValuesListing::Hidden, Vec::new())
        } else if !may_hold_scalars && declared.is_none() {
            (ValuesListing::NotScalar, Vec::new())
        } else {
            let found = distinct_values(db, backend, process_id, &name).await?;
            let (listing, mut values) = fields::listing(declared.is_some(), found);
            fields::sort_values(&mut values);
            (listing, values)
        };
        metadata.push(MetadataField {
            name,
            declared,
            observed_types,
            listing,
            values,
        });
    }
    Ok(FieldDiscovery {
        process_id: process.id,
        process_name: process.name,
        metadata,
    })
}

/// Each (key, JSON type) pair present in the metadata of the process's live runs.
async fn observed_types(
    db: &impl ConnectionTrait,
    backend: DbBackend,
    process_id: i64,
) -> Result<Vec<KeyType>, PersistenceError> {
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT j.key AS key, jsonb_typeof(j.value) AS json_type \
             FROM process_runs r CROSS JOIN LATERAL jsonb_each( \
               CASE WHEN jsonb_typeof(r.meta) = 'object' THEN r.meta ELSE '{}'::jsonb END) j \
             WHERE r.process_id = $1 AND r.deleted_at IS NULL \
             GROUP BY j.key, jsonb_typeof(j.value)"
        }
        _ => {
            "SELECT j.key AS key, j.type AS json_type \
             FROM process_runs r, json_each(r.meta) j \
             WHERE r.process_id = ? AND r.deleted_at IS NULL AND json_type(r.meta) = 'object' \
             GROUP BY j.key, j.type"
        }
    };
    let stmt = Statement::from_sql_and_values(backend, sql, [process_id.into()]);
    Ok(KeyType::find_by_statement(stmt).all(db).await?)
}

/// Up to `MAX_LISTED_VALUES + 1` distinct scalar values of one key, from the process's live
/// runs that are not neutralized. The limit keeps a high-cardinality key cheap.
async fn distinct_values(
    db: &impl ConnectionTrait,
    backend: DbBackend,
    process_id: i64,
    key: &str,
) -> Result<Vec<Value>, PersistenceError> {
    let limit = i64::try_from(MAX_LISTED_VALUES + 1).unwrap_or(i64::MAX);
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT DISTINCT (r.meta -> $2)::text AS v FROM process_runs r \
             WHERE r.process_id = $1 AND r.deleted_at IS NULL AND r.neutralized_at IS NULL \
               AND jsonb_typeof(r.meta) = 'object' \
               AND jsonb_typeof(r.meta -> $2) IN ('string', 'number', 'boolean') \
             LIMIT $3"
        }
        _ => {
            "SELECT DISTINCT CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
               ELSE json_quote(j.value) END AS v \
             FROM process_runs r, json_each(r.meta) j \
             WHERE r.process_id = ? AND r.deleted_at IS NULL AND r.neutralized_at IS NULL \
               AND json_type(r.meta) = 'object' AND j.key = ? \
               AND j.type IN ('true', 'false', 'integer', 'real', 'text') \
             LIMIT ?"
        }
    };
    let stmt =
        Statement::from_sql_and_values(backend, sql, [process_id.into(), key.into(), limit.into()]);
    JsonText::find_by_statement(stmt)
        .all(db)
        .await?
        .into_iter()
        .map(|row| {
            serde_json::from_str(&row.v)
                .map_err(|e| PersistenceError::Corrupt(format!("metadata value is not JSON: {e}")))
        })
        .collect()
}
