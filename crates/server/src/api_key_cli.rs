//! `procdash api-key create|list|revoke`: bootstrap and manage keys from the command line.

use std::io::Write;

use chrono::{DateTime, Utc};
use procdash_domain::api_key::NewApiKey;
use procdash_domain::{PageRequest, Paging};
use procdash_persistence::repo::api_keys;
use procdash_persistence::{Actor, DatabaseConnection};

use crate::cli::ApiKeyCommand;

type CliResult = Result<(), Box<dyn std::error::Error>>;

pub async fn run(
    db: &DatabaseConnection,
    command: ApiKeyCommand,
    out: &mut impl Write,
) -> CliResult {
    let actor = Actor::system("cli");
    match command {
        ApiKeyCommand::Create {
            name,
            role,
            description,
            expires_at,
            json,
        } => {
            let expires = expires_at
                .map(|s| DateTime::parse_from_rfc3339(&s).map(|t| t.with_timezone(&Utc)))
                .transpose()?;
            let new = NewApiKey::new(&name, description.as_deref(), &role, expires)?;
            let (key, plaintext) = api_keys::create(db, &actor, new).await?;
            if json {
                let mut value = serde_json::to_value(&key)?;
                value["key"] = serde_json::Value::String(plaintext);
                writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
            } else {
                writeln!(
                    out,
                    "created API key {} ({}, role {}); store it now, it is shown only once:",
                    key.id, key.name, key.role
                )?;
                writeln!(out, "{plaintext}")?;
            }
        }
        ApiKeyCommand::List => {
            let mut page = 1;
            loop {
                let paging = Paging::Offset(PageRequest::new(Some(page), Some(100))?);
                let found = api_keys::list(db, &paging).await?;
                for k in &found.items {
                    let state = if k.revoked_at.is_some() {
                        "revoked"
                    } else if k.is_active {
                        "active"
                    } else {
                        "inactive"
                    };
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}",
                        k.id, k.key_prefix, k.role, state, k.name
                    )?;
                }
                if !found.has_more {
                    break;
                }
                page += 1;
            }
        }
        ApiKeyCommand::Revoke { id } => {
            api_keys::revoke(db, &actor, id).await?;
            writeln!(out, "revoked API key {id}")?;
        }
    }
    Ok(())
}
