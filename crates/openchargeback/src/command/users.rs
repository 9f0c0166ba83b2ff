//! The `users` commands: accounts (`user_accounts`), `hash-password` (`hash_password`) and here
//! `users token create|list|revoke` (SPEC §11.2, §14.5): API tokens made by an operator. The
//! token is generated, named and hashed by the same function as the web's tokens page
//! (`ocb_web::api::token::issue`), keyed with `web.secret_key`, so the server accepts it; only
//! the hash is stored and the token is printed once. Like every `users` command, the config
//! users are synced into the database first (§14.1), so config accounts can get tokens too.

use super::user_accounts as accounts;
use crate::cli::{TokenCommand, UsersCommand};
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::Table;
use ocb_store::{ApiTokenRecord, Store, StoreError};
use serde_json::json;
use std::process::ExitCode;

pub fn run(ctx: &Ctx, c: UsersCommand) -> Result<ExitCode, CliError> {
    let mut store = ctx.store()?;
    for w in ocb_web::auth::sync_config_users(&mut store, &ctx.config)? {
        if !ctx.global.quiet && !ctx.global.json {
            eprintln!("warning: {w}");
        }
    }
    match c {
        UsersCommand::Token(TokenCommand::Create {
            username,
            name,
            expires_days,
            read_only,
        }) => create(ctx, &mut store, &username, &name, expires_days, read_only),
        UsersCommand::Token(TokenCommand::List { username }) => list(ctx, &store, username),
        UsersCommand::Token(TokenCommand::Revoke { id }) => revoke(ctx, &mut store, id),
        UsersCommand::List => accounts::list(ctx, &store),
        UsersCommand::Add {
            username,
            email,
            role,
            display_name,
            password_stdin,
        } => {
            let a = accounts::AddArgs {
                username,
                email,
                role,
                display_name,
                password_stdin,
            };
            accounts::add(ctx, &mut store, a)
        }
        UsersCommand::SetPassword {
            username,
            password_stdin,
        } => accounts::set_password(ctx, &mut store, &username, password_stdin),
        UsersCommand::Disable { username } => {
            accounts::set_disabled(ctx, &mut store, &username, true)
        }
        UsersCommand::Enable { username } => {
            accounts::set_disabled(ctx, &mut store, &username, false)
        }
        UsersCommand::Delete { username } => accounts::delete(ctx, &mut store, &username),
        // Dispatched before a config is loaded; kept here so the match stays exhaustive.
        UsersCommand::HashPassword { password_stdin } => super::hash_password::run(password_stdin),
    }
}

fn create(
    ctx: &Ctx,
    store: &mut Store,
    username: &str,
    name: &str,
    expires_days: Option<u32>,
    read_only: bool,
) -> Result<ExitCode, CliError> {
    // The server refuses to start without a real secret (outside dev mode), and tokens are
    // keyed with it: a token made without one could never be used.
    ctx.config.check_serve_secret().map_err(|d| {
        CliError::fail(
            "config",
            format!("{}: {} (API tokens are keyed with it)", d.key, d.message),
        )
    })?;
    let user = store
        .find_user(username)?
        .ok_or_else(|| CliError::fail("not_found", format!("User '{username}' not found.")))?;
    if user.disabled {
        return Err(CliError::fail(
            "validation_failed",
            format!(
                "User '{}' is disabled: a token would not work.",
                user.username
            ),
        ));
    }
    let expires_at = expires_days.map(|d| {
        (chrono::Utc::now() + chrono::Duration::days(i64::from(d)))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    });
    let secret = ctx.config.web.secret_key.expose();
    let (plain, row) =
        ocb_web::api::token::issue(secret, name, read_only, expires_at).map_err(CliError::usage)?;
    let id = store.create_api_token(&ctx.actor(), user.id, &row)?;
    if ctx.global.json {
        super::print_json(&json!({
            "id": id, "username": user.username, "role": user.role, "name": row.name,
            "read_only": read_only, "expires_at": row.expires_at, "token": plain,
        }));
    } else {
        // The token alone on stdout (`TOKEN=$(openchargeback users token create …)`); the
        // rest on stderr.
        if !ctx.global.quiet {
            eprintln!(
                "API token {id} '{}' for {} ({}){}{}. It is shown only once: store it now.",
                row.name,
                user.username,
                user.role,
                if read_only { ", read-only" } else { "" },
                row.expires_at
                    .as_deref()
                    .map(|e| format!(", expires {e}"))
                    .unwrap_or_default(),
            );
        }
        println!("{plain}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `active`, `revoked` or `expired` (stored times are RFC 3339 UTC with `Z`: text order is
/// time order).
fn state(t: &ApiTokenRecord, now: &str) -> &'static str {
    if t.revoked_at.is_some() {
        "revoked"
    } else if t.expires_at.as_deref().is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    }
}

fn list(ctx: &Ctx, store: &Store, username: Option<String>) -> Result<ExitCode, CliError> {
    if let Some(u) = &username {
        if store.find_user(u)?.is_none() {
            return Err(CliError::fail(
                "not_found",
                format!("User '{u}' not found."),
            ));
        }
    }
    let rows = store.all_api_tokens(username.as_deref())?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if ctx.global.json {
        let items: Vec<_> = rows
            .iter()
            .map(|(user, t)| {
                let mut v = json!(t);
                v["username"] = json!(user);
                v["state"] = json!(state(t, &now));
                v
            })
            .collect();
        super::print_json(&json!({"tokens": items}));
        return Ok(ExitCode::SUCCESS);
    }
    if ctx.global.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("No API tokens.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new(
        Some("API tokens"),
        &[
            "ID",
            "User",
            "Name",
            "Access",
            "Created",
            "Expires",
            "Last used",
            "State",
        ],
    );
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    for (user, t) in &rows {
        table.row(vec![
            t.id.to_string(),
            user.clone(),
            t.name.clone(),
            if t.read_only {
                "read-only"
            } else {
                "read-write"
            }
            .into(),
            t.created_at.clone(),
            dash(&t.expires_at),
            dash(&t.last_used_at),
            state(t, &now).into(),
        ]);
    }
    print!("{}", table.render());
    Ok(ExitCode::SUCCESS)
}

fn revoke(ctx: &Ctx, store: &mut Store, id: i64) -> Result<ExitCode, CliError> {
    let owner = store
        .api_token_owner(id)?
        .ok_or_else(|| CliError::fail("not_found", format!("Token {id} not found.")))?;
    match store.revoke_api_token(&ctx.actor(), owner, id) {
        Ok(()) => {}
        // Already revoked.
        Err(StoreError::Refused(m)) => return Err(CliError::fail("validation_failed", m)),
        Err(e) => return Err(e.into()),
    }
    if ctx.global.json {
        super::print_json(&json!({"id": id, "revoked": true}));
    } else if !ctx.global.quiet {
        println!("Token {id} revoked; it no longer works.");
    }
    Ok(ExitCode::SUCCESS)
}
