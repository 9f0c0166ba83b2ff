//! User administration shared by the users pages (`/settings/users…`) and the `users` commands of
//! the CLI (SPEC §11.2, §14): the form checks of §14.3 in upstream's order, hashing, and the
//! changes themselves.
//!
//! The protections that need the database (the last enabled admin, yourself, config-managed
//! accounts) live in the store, inside its write transaction, so that two admins acting at once
//! (or an admin in the browser and an operator in a shell) can never leave the instance without
//! an enabled admin. This module only adds what must be checked before the store is asked.

use crate::password;
use ocb_config::{PasswordRequirements, Role};
use ocb_store::{Actor, NewUser, Store, StoreError, UserRecord};

/// Why a user change was not made.
#[derive(Debug)]
pub enum UserError {
    /// A rule said no (form check, policy, protection); the message is for the person who asked.
    Refused(String),
    /// The user does not exist.
    NotFound(String),
    /// The database failed: an error, not a refusal.
    Store(StoreError),
    /// bcrypt failed (not expected with a valid cost; reported, never hidden).
    Hash(String),
}

impl From<StoreError> for UserError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(m) => Self::Refused(m),
            StoreError::NotFound(m) => Self::NotFound(m),
            e => Self::Store(e),
        }
    }
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(m) | Self::NotFound(m) | Self::Hash(m) => f.write_str(m),
            Self::Store(e) => write!(f, "{e}"),
        }
    }
}

/// A database account to create, as typed into the form or on the command line.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Username (`^[A-Za-z0-9_.-]{1,100}$`, case-insensitive).
    pub username: String,
    /// Email.
    pub email: String,
    /// Display name (may be empty).
    pub display_name: String,
    /// `admin`, `reviewer` or `viewer`.
    pub role: String,
    /// The password, in clear: hashed here and dropped.
    pub password: String,
    /// The repeated password (the CLI passes the same text when it did not ask twice).
    pub confirm: String,
}

/// The first rule a new account breaks (SPEC §14.3 messages, in upstream's order).
pub fn check_new(a: &NewAccount, policy: &PasswordRequirements) -> Result<(), String> {
    if a.username.is_empty() {
        return Err("Username is required.".into());
    }
    if !password::valid_username(&a.username) {
        return Err(
            "Usernames use letters, digits, '_', '.' and '-' only (at most 100 characters).".into(),
        );
    }
    if a.email.is_empty() {
        return Err("Email is required.".into());
    }
    if !ocb_core::attribution::is_valid_email(&a.email) {
        return Err(format!("'{}' is not a valid email address.", a.email));
    }
    if a.password != a.confirm {
        return Err("Passwords do not match.".into());
    }
    if Role::parse(&a.role).is_none() {
        return Err("Invalid role.".into());
    }
    password::check_policy(&a.password, policy)
}

/// Creates a database account (audited `user.created` by the store); returns its id.
pub fn create(
    store: &mut Store,
    actor: &Actor,
    a: &NewAccount,
    policy: &PasswordRequirements,
) -> Result<i64, UserError> {
    check_new(a, policy).map_err(UserError::Refused)?;
    let new = NewUser {
        username: a.username.clone(),
        email: a.email.clone(),
        display_name: a.display_name.clone(),
        password_hash: password::hash(&a.password).map_err(UserError::Hash)?,
        role: a.role.clone(),
        recovery: false,
    };
    Ok(store.create_user(actor, &new)?)
}

/// Sets a database user's password (admin reset or `users set-password`): refused for
/// config-managed accounts, checked against the policy, and every session of the user ends
/// (audited `user.password_reset`).
pub fn set_password(
    store: &mut Store,
    actor: &Actor,
    id: i64,
    (new, confirm): (&str, &str),
    policy: &PasswordRequirements,
) -> Result<(), UserError> {
    // Checked before the policy so that the answer for a config account is always "edit the
    // config", whatever was typed.
    if store.get_user(id)?.config_managed {
        return Err(UserError::Refused(ocb_store::CONFIG_MANAGED.into()));
    }
    if new != confirm {
        return Err(UserError::Refused("Passwords do not match.".into()));
    }
    password::check_policy(new, policy).map_err(UserError::Refused)?;
    let hash = password::hash(new).map_err(UserError::Hash)?;
    Ok(store.reset_user_password(actor, id, &hash)?)
}

/// Disables or enables an account; false when it already was. The store refuses the last
/// enabled admin, oneself and config-managed accounts.
pub fn set_disabled(
    store: &mut Store,
    actor: &Actor,
    id: i64,
    disabled: bool,
) -> Result<bool, UserError> {
    Ok(store.set_user_disabled(actor, id, disabled)?)
}

/// Deletes an account with its sessions and tokens; returns its username. The store refuses
/// the last enabled admin, oneself and config-managed accounts.
pub fn delete(store: &mut Store, actor: &Actor, id: i64) -> Result<String, UserError> {
    let name = store.get_user(id)?.username;
    store.delete_user(actor, id)?;
    Ok(name)
}

/// The user with this name (case-insensitive), or `User 'x' not found.`
pub fn find(store: &Store, username: &str) -> Result<UserRecord, UserError> {
    store
        .find_user(username)?
        .ok_or_else(|| UserError::NotFound(format!("User '{username}' not found.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(role: &str, password: &str, confirm: &str) -> NewAccount {
        NewAccount {
            username: "bo".into(),
            email: "bo@example.edu".into(),
            display_name: String::new(),
            role: role.into(),
            password: password.into(),
            confirm: confirm.into(),
        }
    }

    #[test]
    fn new_accounts_report_the_first_broken_rule_in_upstream_order() {
        let p = PasswordRequirements::default();
        // A mismatch is reported before a bad role, a bad role before a weak password.
        let mismatch = check_new(&account("owner", "a", "b"), &p);
        assert_eq!(mismatch, Err("Passwords do not match.".to_string()));
        let role = check_new(&account("owner", "a", "a"), &p);
        assert_eq!(role, Err("Invalid role.".to_string()));
        let good = check_new(&account("viewer", "Good-pass-1", "Good-pass-1"), &p);
        assert_eq!(good, Ok(()));
    }
}
