//! `users hash-password` (SPEC §4.1, §14.4): a `$2b$` cost-12 hash for a config user's
//! `password_hash`. The password comes from the first line of standard input, never from the
//! command line, where other users of the machine could read it in the process list.

use crate::error::CliError;
use std::io::BufRead;
use std::process::ExitCode;

pub fn run() -> Result<ExitCode, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::fail("input", format!("reading the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']);
    // The built-in policy: there is no config to read one from, and a hash made here must not
    // be a published example password (issue 16, item 1).
    let policy = ocb_config::PasswordRequirements::default();
    ocb_web::password::check_policy(password, &policy).map_err(|m| CliError::fail("policy", m))?;
    let hash = ocb_web::password::hash(password).map_err(|e| CliError::fail("internal", e))?;
    println!("{hash}");
    Ok(ExitCode::SUCCESS)
}
