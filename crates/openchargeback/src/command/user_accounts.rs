//! `users list|add|set-password|disable|enable|delete` (SPEC §11.2, §14): the accounts of the
//! web UI, managed from a shell with the names upstream's scripts use.
//!
//! Every change goes through `ocb_web::user_admin`, the service the users pages call, so the
//! form checks, the password policy (§14.3) and the store's protections (the last enabled admin,
//! config-managed accounts) are the same in both places; the store audits each change with the
//! CLI actor (`--as`, else the OS user). Config users (`web.users`) are synced first by the
//! caller and are refused here with a pointer to the config file, their only source of truth.

use super::hash_password::read_password;
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::Table;
use ocb_store::{Store, UserRecord};
use ocb_web::user_admin::{self, NewAccount, UserError};
use serde_json::json;
use std::process::ExitCode;

/// A refusal or failure of the shared service as a CLI error. A config-managed account gets
/// the store's message plus where to make the change instead.
fn cli_error(ctx: &Ctx, username: &str, e: UserError) -> CliError {
    match e {
        UserError::Refused(m) if m == ocb_store::CONFIG_MANAGED => CliError::fail(
            "validation_failed",
            format!(
                "{m}: '{username}' is defined under web.users in {}; edit it there (and restart serve) instead",
                ctx.config
                    .config_path
                    .as_deref()
                    .map_or_else(|| "the config file".into(), |p| p.display().to_string())
            ),
        ),
        UserError::Refused(m) => CliError::fail("validation_failed", m),
        UserError::NotFound(m) => CliError::fail("not_found", m),
        UserError::Store(e) => e.into(),
        UserError::Hash(m) => CliError::fail("internal", m),
    }
}

/// The user named on the command line.
fn find(ctx: &Ctx, store: &Store, username: &str) -> Result<UserRecord, CliError> {
    user_admin::find(store, username).map_err(|e| cli_error(ctx, username, e))
}

/// One line on stdout for people, or the JSON document; nothing with `--quiet`.
fn report(ctx: &Ctx, message: &str, doc: serde_json::Value) -> Result<ExitCode, CliError> {
    if ctx.global.json {
        super::print_json(&doc);
    } else if !ctx.global.quiet {
        println!("{message}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn list(ctx: &Ctx, store: &Store) -> Result<ExitCode, CliError> {
    let users = store.list_users()?;
    let logins = store.last_logins()?;
    let last = |u: &UserRecord| logins.get(&u.username.to_lowercase()).cloned();
    let origin = |u: &UserRecord| {
        if u.config_managed {
            "config"
        } else {
            "database"
        }
    };
    if ctx.global.json {
        let items: Vec<_> = users
            .iter()
            .map(|u| {
                json!({"username": u.username, "display_name": u.display_name, "email": u.email,
                       "role": u.role, "origin": origin(u), "enabled": !u.disabled,
                       "recovery": u.recovery, "last_login": last(u)})
            })
            .collect();
        super::print_json(&json!({"items": items}));
        return Ok(ExitCode::SUCCESS);
    }
    if ctx.global.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    if users.is_empty() {
        println!(
            "No users. Add one with `openchargeback users add` or under web.users in the config."
        );
        return Ok(ExitCode::SUCCESS);
    }
    let header = [
        "Username",
        "Display name",
        "Email",
        "Role",
        "Origin",
        "Enabled",
        "Last login",
    ];
    let mut table = Table::new(Some("Users"), &header);
    for u in &users {
        table.row(vec![
            u.username.clone(),
            u.display_name.clone(),
            u.email.clone(),
            u.role.clone(),
            origin(u).into(),
            if u.disabled { "no" } else { "yes" }.into(),
            last(u).unwrap_or_else(|| "-".into()),
        ]);
    }
    print!("{}", table.render());
    Ok(ExitCode::SUCCESS)
}

/// What `users add` was given on the command line.
pub struct AddArgs {
    pub username: String,
    pub email: String,
    pub role: String,
    pub display_name: Option<String>,
    pub password_stdin: bool,
}

pub fn add(ctx: &Ctx, store: &mut Store, a: AddArgs) -> Result<ExitCode, CliError> {
    let (password, confirm) = read_password(a.password_stdin)?;
    let account = NewAccount {
        username: a.username.trim().to_string(),
        email: a.email.trim().to_string(),
        display_name: a.display_name.unwrap_or_default().trim().to_string(),
        role: a.role,
        password,
        confirm,
    };
    let policy = &ctx.config.web.password_requirements;
    let id = user_admin::create(store, &ctx.actor(), &account, policy)
        .map_err(|e| cli_error(ctx, &account.username, e))?;
    report(
        ctx,
        &format!("User {} created ({}).", account.username, account.role),
        json!({"id": id, "username": account.username, "email": account.email, "role": account.role}),
    )
}

pub fn set_password(
    ctx: &Ctx,
    store: &mut Store,
    username: &str,
    password_stdin: bool,
) -> Result<ExitCode, CliError> {
    let user = find(ctx, store, username)?;
    // Refused before the password is asked: typing one for nothing would mislead.
    if user.config_managed {
        let refused = UserError::Refused(ocb_store::CONFIG_MANAGED.into());
        return Err(cli_error(ctx, &user.username, refused));
    }
    let (password, confirm) = read_password(password_stdin)?;
    let policy = &ctx.config.web.password_requirements;
    user_admin::set_password(
        store,
        &ctx.actor(),
        user.id,
        (password.as_str(), confirm.as_str()),
        policy,
    )
    .map_err(|e| cli_error(ctx, &user.username, e))?;
    report(
        ctx,
        &format!(
            "Password of {} set; their sessions were signed out.",
            user.username
        ),
        json!({"username": user.username, "password_set": true}),
    )
}

pub fn set_disabled(
    ctx: &Ctx,
    store: &mut Store,
    username: &str,
    disabled: bool,
) -> Result<ExitCode, CliError> {
    let user = find(ctx, store, username)?;
    let changed = user_admin::set_disabled(store, &ctx.actor(), user.id, disabled)
        .map_err(|e| cli_error(ctx, &user.username, e))?;
    let message = match (disabled, changed) {
        (true, true) => format!(
            "User {} disabled; their sessions and API tokens no longer work.",
            user.username
        ),
        (false, true) => format!("User {} enabled.", user.username),
        (true, false) => format!("User {} was already disabled.", user.username),
        (false, false) => format!("User {} was already enabled.", user.username),
    };
    let doc = json!({"username": user.username, "enabled": !disabled, "changed": changed});
    report(ctx, &message, doc)
}

pub fn delete(ctx: &Ctx, store: &mut Store, username: &str) -> Result<ExitCode, CliError> {
    let user = find(ctx, store, username)?;
    let name = user_admin::delete(store, &ctx.actor(), user.id)
        .map_err(|e| cli_error(ctx, &user.username, e))?;
    report(
        ctx,
        &format!("User {name} deleted."),
        json!({"username": name, "deleted": true}),
    )
}
