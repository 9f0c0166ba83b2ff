//! Shared server state: the configuration, a small pool of SQLite connections used from
//! blocking threads, the templates and assets, login throttling, job progress and staged uploads.

use crate::assets::Assets;
use crate::error::AppError;
use crate::jobs::Jobs;
use crate::templates::Templates;
use crate::throttle::Throttle;
use crate::upload::Staging;
use ocb_config::Config;
use ocb_store::{OpenMode, Store};
use std::sync::{Arc, Mutex};

/// Shared state handed to every handler (cheap to clone).
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

/// The state behind [`AppState`].
pub struct Inner {
    /// The loaded configuration.
    pub config: Config,
    pub(crate) templates: Templates,
    pub(crate) assets: Assets,
    pub(crate) throttle: Throttle,
    /// Unknown API tokens per client address (SPEC §12.10: 429), apart from login failures.
    pub(crate) api_throttle: Throttle,
    pub(crate) jobs: Jobs,
    pub(crate) staging: Staging,
    /// Chart figures per period, valid while the period's change counter is unchanged.
    pub(crate) charts: crate::chart_data::ChartCache,
    idle: Mutex<Vec<Store>>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Connections kept open between requests; more are opened on demand under load.
const POOL_SIZE: usize = 8;

impl AppState {
    /// Builds the state: loads templates (embedded, overridden from `<templates dir>/web/`) and
    /// assets. The database must already be migrated (see [`crate::prepare`]).
    pub fn new(config: Config) -> Result<Self, AppError> {
        let override_dir = config.effective_templates_dir().map(|d| d.join("web"));
        let assets = Assets::load(override_dir.as_deref())?;
        let templates = Templates::new(override_dir, &assets, &config)?;
        let staging = Staging::new(config.output.import_dir.join(".staging"));
        let throttle = Throttle::new(
            config.web.login_max_attempts,
            config.web.login_lockout_minutes,
        );
        let api_throttle = Throttle::new(
            config.web.login_max_attempts,
            config.web.login_lockout_minutes,
        );
        Ok(Self(Arc::new(Inner {
            config,
            templates,
            assets,
            throttle,
            api_throttle,
            jobs: Jobs::default(),
            staging,
            charts: Default::default(),
            idle: Mutex::new(Vec::new()),
        })))
    }

    pub(crate) fn open_store(&self) -> Result<Store, AppError> {
        let taken = self
            .idle
            .lock()
            .map_err(|_| AppError::internal("pool lock"))?
            .pop();
        match taken {
            Some(s) => Ok(s),
            None => Ok(Store::open(
                &self.config.database.path,
                OpenMode::Create,
                self.config.database.busy_timeout_ms,
            )?),
        }
    }

    pub(crate) fn give_back(&self, store: Store) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < POOL_SIZE {
                idle.push(store);
            }
        }
    }

    /// Runs `f` with a database connection on a blocking thread (SQLite and bcrypt never run on
    /// the async workers, so one slow request does not stall the others).
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, AppError> + Send + 'static,
    {
        let st = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut store = st.open_store()?;
            let out = f(&mut store);
            st.give_back(store);
            out
        })
        .await
        .map_err(|e| AppError::internal(format!("blocking task failed: {e}")))?
    }

    /// Formats an amount with the configured currency (rounded half-even to cents).
    pub fn money(&self, amount: impl Into<ocb_core::exact::ExactSum>) -> String {
        crate::view::money(&self.config.currency, amount)
    }
}
