//! Field discovery bodies: what a client can filter and sort a process's runs on.

use std::collections::BTreeMap;

use procdash_domain::fields::{StandardField, meta_sort_key, standard_fields};
use procdash_persistence::repo::fields::{FieldDiscovery, MetadataField};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A standard column of a run.
#[derive(Debug, Serialize, ToSchema)]
pub struct StandardFieldInfo {
    /// integer, string or datetime.
    #[schema(example = "datetime")]
    #[serde(rename = "type")]
    pub field_type: String,
    #[schema(example = "When the run was created")]
    pub description: String,
    pub sortable: bool,
    pub filterable: bool,
    /// The run-list query parameters that filter on the field.
    #[schema(example = json!(["created_after", "created_before"]))]
    pub filters: Vec<String>,
    /// The closed set of values (status).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_values: Option<Vec<String>>,
}

impl From<StandardField> for StandardFieldInfo {
    fn from(f: StandardField) -> Self {
        Self {
            field_type: f.field_type.to_owned(),
            description: f.description.to_owned(),
            sortable: f.sortable,
            filterable: f.filterable(),
            filters: f.filters.iter().map(|s| (*s).to_owned()).collect(),
            allowed_values: f
                .allowed_values
                .map(|v| v.into_iter().map(str::to_owned).collect()),
        }
    }
}

/// A top-level key of the runs' metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetadataFieldInfo {
    /// The declared type; else the one observed JSON type (ignoring null when another type is
    /// present); `mixed` when values have several types; `unknown` for a declared key without
    /// type that no run has.
    #[schema(example = "string")]
    #[serde(rename = "type")]
    pub field_type: String,
    /// Every JSON type the key holds in live runs: string, number, boolean, null, object, array.
    #[schema(example = json!(["string"]))]
    pub observed_types: Vec<String>,
    #[schema(example = "Metadata field 'department'")]
    pub description: String,
    /// Declared in the process's `meta.run_metadata_schema`.
    pub declared: bool,
    pub sortable: bool,
    pub filterable: bool,
    /// The `order_by` value that sorts by this key.
    #[schema(example = "meta.department")]
    pub sort_key: String,
    /// How to filter on it.
    #[schema(example = "meta_filter=department:<value>")]
    pub filter: String,
    /// listed (all distinct values are in metadata_filters), truncated (a declared key with
    /// more than 50: the first 50 are), too_many (an undeclared key with more than 50: none
    /// are), hidden (this key's values are not shown to the caller's role), not_scalar (the key
    /// only holds objects, arrays or null).
    #[schema(example = "listed")]
    pub values: String,
}

impl From<&MetadataField> for MetadataFieldInfo {
    fn from(f: &MetadataField) -> Self {
        let description = f
            .declared
            .as_ref()
            .and_then(|d| d.description.clone())
            .unwrap_or_else(|| format!("Metadata field '{}'", f.name));
        Self {
            field_type: f.field_type(),
            observed_types: f.observed_types.iter().map(|t| t.to_string()).collect(),
            description,
            declared: f.declared.is_some(),
            sortable: true,
            filterable: true,
            sort_key: meta_sort_key(&f.name),
            filter: format!("meta_filter={}:<value>", f.name),
            values: f.listing.as_str().to_owned(),
        }
    }
}

/// The standard and metadata fields, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchableFields {
    pub standard_fields: BTreeMap<String, StandardFieldInfo>,
    pub metadata_fields: BTreeMap<String, MetadataFieldInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldCount {
    #[schema(example = 8)]
    pub standard: usize,
    #[schema(example = 3)]
    pub metadata: usize,
    #[schema(example = 11)]
    pub total: usize,
}

/// How the run list combines filters.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilteringHelp {
    #[schema(example = "meta_filter=<field>:<value>; repeat the parameter for more filters")]
    pub meta_filter: String,
    #[schema(example = "Values of the same field are OR'd")]
    pub same_field: String,
    #[schema(example = "Different fields are AND'd")]
    pub different_fields: String,
    #[schema(example = "order_by=meta.<field> with sort_direction=asc|desc")]
    pub sorting: String,
    #[schema(example = "<field>_after and <field>_before, inclusive, ISO 8601")]
    pub date_filters: String,
    #[schema(example = "/api/v1/runs/?process_id=1&meta_filter=department:Sales")]
    pub example: String,
}

/// What a client can filter and sort a process's runs on, and the values seen.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchableFieldsResponse {
    #[schema(example = 1)]
    pub process_id: i64,
    #[schema(example = "Customer onboarding")]
    pub process_name: String,
    pub searchable_fields: SearchableFields,
    /// Distinct scalar values per metadata key (numbers stay numbers), from live runs that
    /// are not neutralized; only for keys whose `values` is listed or truncated.
    #[schema(value_type = Object, example = json!({"department": ["Marketing", "Sales"], "priority": [1, 2]}))]
    pub metadata_filters: BTreeMap<String, Vec<Value>>,
    #[schema(example = json!(["created_at", "meta.department"]))]
    pub all_sortable_fields: Vec<String>,
    #[schema(example = json!(["entity_id", "meta.department"]))]
    pub all_filterable_fields: Vec<String>,
    pub field_count: FieldCount,
    pub filtering_help: FilteringHelp,
}

impl SearchableFieldsResponse {
    pub fn new(found: FieldDiscovery, prefix: &str) -> Self {
        let standard = standard_fields();
        let mut all_sortable: Vec<String> = standard
            .iter()
            .filter(|f| f.sortable)
            .map(|f| f.name.to_owned())
            .collect();
        let mut all_filterable: Vec<String> = standard
            .iter()
            .filter(|f| f.filterable())
            .map(|f| f.name.to_owned())
            .collect();
        let mut metadata_fields = BTreeMap::new();
        let mut metadata_filters = BTreeMap::new();
        for field in &found.metadata {
            all_sortable.push(meta_sort_key(&field.name));
            all_filterable.push(meta_sort_key(&field.name));
            if field.listing.shows_values() {
                metadata_filters.insert(field.name.clone(), field.values.clone());
            }
            metadata_fields.insert(field.name.clone(), MetadataFieldInfo::from(field));
        }
        let field_count = FieldCount {
            standard: standard.len(),
            metadata: metadata_fields.len(),
            total: standard.len() + metadata_fields.len(),
        };
        let example_field = found
            .metadata
            .first()
            .map_or("department", |f| f.name.as_str());
        Self {
            process_id: found.process_id,
            process_name: found.process_name,
            searchable_fields: SearchableFields {
                standard_fields: standard
                    .into_iter()
                    .map(|f| (f.name.to_owned(), f.into()))
                    .collect(),
                metadata_fields,
            },
            metadata_filters,
            all_sortable_fields: all_sortable,
            all_filterable_fields: all_filterable,
            field_count,
            filtering_help: FilteringHelp {
                meta_filter: "meta_filter=<field>:<value>; repeat the parameter for more \
                              filters. The value is everything after the first colon"
                    .to_owned(),
                same_field: "Several values of the same field are OR'd: \
                             meta_filter=department:Sales&meta_filter=department:Marketing"
                    .to_owned(),
                different_fields: "Different fields are AND'd: \
                                   meta_filter=department:Sales&meta_filter=region:EMEA"
                    .to_owned(),
                sorting: "order_by=<field> for standard fields, order_by=meta.<field> for \
                          metadata, with sort_direction=asc|desc"
                    .to_owned(),
                date_filters: "<field>_after and <field>_before bound created_at, started_at \
                               and finished_at, inclusive, in ISO 8601"
                    .to_owned(),
                example: format!(
                    "{prefix}/runs/?process_id={}&meta_filter={example_field}:<value>&order_by={}",
                    found.process_id,
                    meta_sort_key(example_field)
                ),
            },
        }
    }
}
