//! `users hash-password` (SPEC §4.1, §14.4): a `$2b$` cost-12 hash for a config user's
//! `password_hash`. The password never comes from the command line, where other users of the
//! machine could read it in the process list: on a terminal it is asked without echo, otherwise
//! (piped) it is the first line of standard input. `users add` and `users set-password` read
//! theirs with [`read_password`] too.

use crate::error::CliError;
use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

pub fn run(password_stdin: bool) -> Result<ExitCode, CliError> {
    let (password, confirm) = read_password(password_stdin)?;
    if password != confirm {
        return Err(CliError::fail("policy", "Passwords do not match."));
    }
    // The built-in policy: there is no config to read one from, and a hash made here must not
    // be a published example password (issue 16, item 1).
    let policy = ocb_config::PasswordRequirements::default();
    ocb_web::password::check_policy(&password, &policy).map_err(|m| CliError::fail("policy", m))?;
    let hash = ocb_web::password::hash(&password).map_err(|e| CliError::fail("internal", e))?;
    println!("{hash}");
    Ok(ExitCode::SUCCESS)
}

/// The password and its confirmation. On a terminal (unless `stdin_only`) both are asked on
/// stderr without echo, so a typo cannot set a password nobody knows; piped, the first line of
/// standard input serves as both.
pub(crate) fn read_password(stdin_only: bool) -> Result<(String, String), CliError> {
    let read_err = |e: std::io::Error| {
        CliError::fail("input", format!("reading the password from stdin: {e}"))
    };
    if stdin_only || !std::io::stdin().is_terminal() {
        let line = first_line().map_err(read_err)?;
        return Ok((line.clone(), line));
    }
    let password = ask_without_echo("Password: ").map_err(read_err)?;
    let confirm = ask_without_echo("Repeat password: ").map_err(read_err)?;
    Ok((password, confirm))
}

/// The first line of standard input without its line ending; empty input is an error rather
/// than an empty password.
fn first_line() -> std::io::Result<String> {
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "no input (pipe the password, one line)",
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Prompts on stderr and reads one line from the terminal with echo off; echo is restored
/// before returning, whatever the read did.
fn ask_without_echo(prompt: &str) -> std::io::Result<String> {
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
    let stdin = std::io::stdin();
    eprint!("{prompt}");
    let saved = tcgetattr(&stdin)?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    tcsetattr(&stdin, OptionalActions::Flush, &quiet)?;
    let line = first_line();
    let restored = tcsetattr(&stdin, OptionalActions::Now, &saved);
    // The Enter the user typed was not echoed either.
    eprintln!();
    restored?;
    line
}
