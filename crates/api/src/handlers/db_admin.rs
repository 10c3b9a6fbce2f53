use std::io::Write;

use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;
use procdash_persistence::DbBackend;
use procdash_persistence::backup;
use tempfile::NamedTempFile;

use crate::auth::{Admin, Auth};
use crate::dto::lifecycle::{RestoreParams, RestoreResponse, RestoreUpload};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::export::{file_stream, tables};
use crate::responses;
use crate::state::AppState;

/// Every table as CSV in one ZIP (the change log included, key hashes excluded).
#[utoipa::path(
    get, path = "/api/v1/admin/db/export.zip", tag = "database",
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "A ZIP of CSV files", content_type = "application/zip", body = responses::BinaryFile,
            headers(("Content-Disposition" = String, description = "attachment; filename=procdash-export.zip"))),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn export_zip(_auth: Auth<Admin>, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let file = tables::zip_file(&state.db)
        .await
        .map_err(ApiError::Internal)?;
    let body = file_stream::stream_file(file)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"procdash-export.zip\"",
        ))
        .streaming(body))
}

/// A consistent online copy of the SQLite database. PostgreSQL: 501, use pg_dump.
#[utoipa::path(
    get, path = "/api/v1/admin/db/backup.sqlite", tag = "database",
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The SQLite database file", content_type = "application/vnd.sqlite3", body = responses::BinaryFile,
            headers(("Content-Disposition" = String, description = "attachment; filename=procdash-backup.sqlite"))),
        (status = 501, description = "Not on PostgreSQL: see docs/operations.md (pg_dump)", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn backup_sqlite(
    _auth: Auth<Admin>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let dir = tempfile::tempdir().map_err(|e| ApiError::Internal(e.to_string()))?;
    let path = dir.path().join("backup.sqlite");
    backup::backup_to(&state.db, &path).await?;
    let file = NamedTempFile::new().map_err(|e| ApiError::Internal(e.to_string()))?;
    std::fs::copy(&path, file.path()).map_err(|e| ApiError::Internal(e.to_string()))?;
    let body = file_stream::stream_file(file)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.sqlite3")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"procdash-backup.sqlite\"",
        ))
        .streaming(body))
}

async fn save_upload(mut payload: Multipart, limit: usize) -> ApiResult<NamedTempFile> {
    let mut file = NamedTempFile::new().map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut found = false;
    let mut written = 0usize;
    while let Some(field) = payload.next().await {
        let mut field =
            field.map_err(|e| ApiError::BadRequest(format!("invalid multipart body: {e}")))?;
        if field.name() != Some("file") {
            continue;
        }
        found = true;
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::BadRequest(format!("upload interrupted: {e}")))?;
            written += chunk.len();
            if written > limit {
                return Err(ApiError::PayloadTooLarge(limit));
            }
            file.write_all(&chunk)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        }
    }
    if found {
        Ok(file)
    } else {
        Err(ApiError::field(
            "file",
            "a multipart field named file is required",
        ))
    }
}

/// Restore the SQLite database from an uploaded backup (dry run by default). The upload is
/// checked (header, integrity, same schema version) and copied in one transaction: a failed
/// restore leaves the database untouched. PostgreSQL: 501, use pg_restore.
#[utoipa::path(
    post, path = "/api/v1/admin/db/restore", tag = "database",
    params(RestoreParams),
    request_body(content = RestoreUpload, content_type = "multipart/form-data"),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "What the upload holds, and whether it was restored", body = RestoreResponse),
        (status = 400, description = "Malformed multipart body", body = ErrorBody),
        (status = 413, description = "Upload over MAX_RESTORE_BYTES", body = ErrorBody),
        (status = 415, description = "Content-Type is not multipart/form-data", body = ErrorBody),
        (status = 409, description = "Integrity check failed or another schema version", body = ErrorBody),
        (status = 422, description = "No file field, or not an SQLite database", body = ErrorBody),
        (status = 501, description = "Not on PostgreSQL: see docs/operations.md (pg_restore)", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn restore_sqlite(
    _auth: Auth<Admin>,
    state: web::Data<AppState>,
    params: web::Query<RestoreParams>,
    payload: Multipart,
) -> ApiResult<web::Json<RestoreResponse>> {
    if state.db.get_database_backend() != DbBackend::Sqlite {
        return Err(ApiError::NotImplemented(
            "Restore exists for SQLite only; use pg_restore (docs/operations.md)".into(),
        ));
    }
    let upload = save_upload(payload, state.info.max_restore_bytes).await?;
    let dry_run = params.dry_run.unwrap_or(true);
    let inspection = backup::inspect(
        &state.db,
        upload.path(),
        params.integrity_check.unwrap_or(true),
    )
    .await?;
    if inspection.integrity_ok == Some(false) {
        return Err(ApiError::Conflict(
            "The upload failed PRAGMA integrity_check".into(),
        ));
    }
    if !inspection.schema_matches {
        return Err(ApiError::Conflict(format!(
            "The upload has schema version {} which differs from this server's",
            inspection.schema_version
        )));
    }
    if !dry_run {
        backup::restore_from(&state.db, upload.path()).await?;
        state.keys.clear();
    }
    Ok(web::Json(RestoreResponse {
        dry_run,
        integrity_ok: inspection.integrity_ok,
        schema_version: inspection.schema_version,
        restored: !dry_run,
        tables: serde_json::to_value(&inspection.tables).unwrap_or_default(),
    }))
}
