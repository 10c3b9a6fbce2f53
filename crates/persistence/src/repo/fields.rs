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

/// One row of [`observed`]: a (key, JSON type) pair, or a (key, scalar value as JSON text).
#[derive(Debug, FromQueryResult)]
struct Observed {
    key: String,
    json_type: Option<String>,
    v: Option<String>,
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
    let mut values: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for row in observed(db, backend, process_id).await? {
        if let Some(json_type) = row.json_type {
            let json_type = JsonType::from_sql_name(&json_type).ok_or_else(|| {
                PersistenceError::Corrupt(format!("unknown JSON type {json_type:?}"))
            })?;
            keys.entry(row.key.clone()).or_default().1.insert(json_type);
        }
        if let Some(v) = row.v {
            let value = serde_json::from_str(&v).map_err(|e| {
                PersistenceError::Corrupt(format!("metadata value is not JSON: {e}"))
            })?;
            values.entry(row.key).or_default().push(value);
        }
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
            let found = values.remove(&name).unwrap_or_default();
            let (listing, mut shown) = fields::listing(declared.is_some(), found);
            fields::sort_values(&mut shown);
            (listing, shown)
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

/// In one pass over the process's live runs (the rows are read once, however many keys): each
/// (key, JSON type) pair present in their metadata, and per key up to `MAX_LISTED_VALUES + 1`
/// distinct scalar values of the runs that are not neutralized (the limit keeps a
/// high-cardinality key's answer small). Values come as JSON text, types as the backend's names.
async fn observed(
    db: &impl ConnectionTrait,
    backend: DbBackend,
    process_id: i64,
) -> Result<Vec<Observed>, PersistenceError> {
    let pairs = match backend {
        DbBackend::Postgres => {
            "SELECT j.key AS key, jsonb_typeof(j.value) AS json_type, \
               CASE WHEN r.neutralized_at IS NULL \
                 AND jsonb_typeof(j.value) IN ('string', 'number', 'boolean') \
               THEN j.value::text END AS v \
             FROM process_runs r CROSS JOIN LATERAL jsonb_each( \
               CASE WHEN jsonb_typeof(r.meta) = 'object' THEN r.meta ELSE '{}'::jsonb END) j \
             WHERE r.process_id = $1 AND r.deleted_at IS NULL"
        }
        _ => {
            "SELECT j.key AS key, j.type AS json_type, \
               CASE WHEN r.neutralized_at IS NULL \
                 AND j.type IN ('true', 'false', 'integer', 'real', 'text') \
               THEN CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
                 ELSE json_quote(j.value) END END AS v \
             FROM process_runs r, json_each(r.meta) j \
             WHERE r.process_id = ? AND r.deleted_at IS NULL AND json_type(r.meta) = 'object'"
        }
    };
    let limit = match backend {
        DbBackend::Postgres => "$2",
        _ => "?",
    };
    let sql = format!(
        "WITH pairs AS MATERIALIZED ({pairs}) \
         SELECT key, json_type, CAST(NULL AS TEXT) AS v FROM (SELECT DISTINCT key, json_type FROM pairs) AS t \
         UNION ALL \
         SELECT key, CAST(NULL AS TEXT) AS json_type, v FROM ( \
           SELECT key, v, ROW_NUMBER() OVER (PARTITION BY key ORDER BY v) AS rn \
           FROM (SELECT DISTINCT key, v FROM pairs WHERE v IS NOT NULL) AS d) AS ranked \
         WHERE rn <= {limit}"
    );
    let limit = i64::try_from(MAX_LISTED_VALUES + 1).unwrap_or(i64::MAX);
    let stmt = Statement::from_sql_and_values(backend, sql, [process_id.into(), limit.into()]);
    Ok(Observed::find_by_statement(stmt).all(db).await?)
}
