//! `serve` (alias `web`): the web UI (SPEC §12). Startup checks, migration, config-user sync and
//! recovery happen in `ocb_web::prepare`; this module only binds, prints the address and waits
//! for Ctrl-C or SIGTERM, then lets in-flight requests finish within
//! `web.shutdown_timeout_seconds` and exits.

use crate::cli::{ServeArgs, ServeCommand};
use crate::context::Ctx;
use crate::error::CliError;
use std::process::ExitCode;

pub fn run(ctx: &Ctx, args: ServeCommand) -> Result<ExitCode, CliError> {
    if args.reload {
        // Upstream's scripts pass it (uvicorn's auto-reload); refusing would break them, and
        // silently ignoring it would let someone wait for a reload that never comes.
        eprintln!("notice: --reload has no effect: the server does not reload itself; restart it to load changes");
    }
    ctx.print_check_notices();
    serve_config(ctx.config.clone(), args.host, args.port, None)
}

/// Serves `config` on `host:port` (defaults from `web.*`); `banner` is printed once listening.
pub(crate) fn serve_config(
    config: ocb_config::Config,
    host: Option<String>,
    port: Option<u16>,
    banner: Option<String>,
) -> Result<ExitCode, CliError> {
    let db_logins = database_logins(&config);
    for w in config.serve_warnings() {
        // "No one can log in" is only true when the database has no enabled user either (SPEC
        // §11.2: warn when no users can log in); `demo --serve` has just created its user.
        if w.key == "web.users" && db_logins {
            continue;
        }
        eprintln!("{}", w.warning_line());
    }
    let host = host.unwrap_or_else(|| config.web.host.clone());
    let port = port.unwrap_or(config.web.port);
    let state = ocb_web::prepare(config).map_err(|e| CliError::fail("config", e.to_string()))?;
    warn_published_passwords(state.config.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::fail("internal", format!("starting the server runtime: {e}")))?;
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((host.as_str(), port))
            .await
            .map_err(|e| CliError::fail("internal", format!("cannot listen on {host}:{port}: {e}")))?;
        let addr = listener.local_addr()?;
        println!("OpenChargeback web UI: http://{addr}/");
        if let Some(b) = banner {
            println!("{b}");
        }
        tracing::info!(event = "server.started", address = %addr, version = env!("CARGO_PKG_VERSION"));
        ocb_web::serve(state, listener, shutdown_signal())
            .await
            .map_err(|e| CliError::fail("internal", e.to_string()))
    });
    // Dropping the runtime would wait for every blocking task, e.g. a statement run that takes
    // minutes; the server already gave requests their time. Such a job is reported
    // `interrupted` at the next start (SPEC §12.1).
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served?;
    Ok(ExitCode::SUCCESS)
}

/// Whether the database already holds an enabled user (a missing or unreadable database has
/// none; `ocb_web::prepare` reports real problems with it).
fn database_logins(config: &ocb_config::Config) -> bool {
    if !config.database.path.exists() {
        return false;
    }
    ocb_store::Store::open(
        &config.database.path,
        ocb_store::OpenMode::ReadOnly,
        config.database.busy_timeout_ms,
    )
    .and_then(|s| s.list_users())
    .is_ok_and(|users| users.iter().any(|u| !u.disabled))
}

/// Warns about users whose hash is a published example password (issue 16, item 1), on a
/// thread of its own: each check is a bcrypt verification, and start-up must stay fast.
fn warn_published_passwords(config: ocb_config::Config) {
    std::thread::spawn(move || {
        for d in ocb_web::password::published_config_users(&config) {
            eprintln!("{}", d.warning_line());
        }
        let opened = ocb_store::Store::open(
            &config.database.path,
            ocb_store::OpenMode::ReadOnly,
            config.database.busy_timeout_ms,
        );
        match opened.and_then(|s| s.list_users()) {
            Ok(users) => {
                for w in ocb_web::password::published_database_users(&users) {
                    eprintln!("{w}");
                }
            }
            Err(e) => {
                tracing::warn!(event = "config.warning", error = %e, "could not check database users for published passwords")
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// `demo --serve`: an admin user `demo` with a random password, printed once, then the server.
pub(crate) fn demo(
    store: &mut ocb_store::Store,
    config: ocb_config::Config,
    listen: ServeArgs,
) -> Result<ExitCode, CliError> {
    let password = format!("Demo-9{}!", &ocb_web::security::random_token()[..12]);
    let hash = ocb_web::password::hash(&password).map_err(|e| CliError::fail("internal", e))?;
    let actor = ocb_store::Actor::system();
    match store.find_user("demo")? {
        Some(u) => store.set_user_password(&actor, u.id, &hash, None)?,
        None => {
            store.create_user(
                &actor,
                &ocb_store::NewUser {
                    username: "demo".into(),
                    email: "demo@example.edu".into(),
                    display_name: "Demo administrator".into(),
                    password_hash: hash,
                    role: "admin".into(),
                    recovery: false,
                },
            )?;
        }
    }
    let banner = format!("Log in as user `demo` with password {password} (shown only now).");
    serve_config(config, listen.host, listen.port, Some(banner))
}
