//! The one piece of shared state every handler receives through axum's `State`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use registry::Registry;
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::log_sequencer::{self, LogSequencer};
use crate::log_witnesses::LogWitnesses;
use crate::metrics::Metrics;
use crate::rate_limit::PublicLimiter;
use crate::scan_writer::ScanWriter;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    config: Config,
    metrics: Metrics,
    registry: Arc<Registry>,
    scans: ScanWriter,
    /// The transparency log's key, read from the store once (`log_key`), and its sequencer.
    log_key: tokio::sync::OnceCell<Arc<tlog::LogKey>>,
    sequencer: Mutex<Option<LogSequencer>>,
    /// The log's witnesses, their cosignatures, and the task that sends them checkpoints.
    witnesses: Arc<LogWitnesses>,
    witness_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    limiter: Option<Arc<PublicLimiter>>,
    /// Public reports per client, on top of `limiter`.
    report_limiter: Option<Arc<PublicLimiter>>,
    /// Permits for requests in flight; when none is left the service sheds load.
    in_flight: Semaphore,
    /// Of those, the ones requests with a body may hold: half, so clients that send their bodies
    /// slowly can never take the slots that verifications (which have none) need.
    with_body: Semaphore,
    draining: AtomicBool,
    /// When `/metrics` last refreshed the store's counts.
    store_counts_at: Mutex<Option<Instant>>,
}

impl AppState {
    pub fn new(config: Config, registry: Arc<Registry>) -> Self {
        let metrics = Metrics::new();
        let scans = ScanWriter::start(registry.clone());
        AppState(Arc::new(Inner {
            limiter: PublicLimiter::per_minute(config.rate_limit),
            report_limiter: PublicLimiter::per_hour(config.report_rate_limit),
            in_flight: Semaphore::new(config.max_in_flight),
            with_body: Semaphore::new(config.max_in_flight.div_ceil(2)),
            metrics,
            registry,
            scans,
            log_key: tokio::sync::OnceCell::new(),
            sequencer: Mutex::new(None),
            witnesses: Arc::new(LogWitnesses::new(config.log_witnesses.clone())),
            witness_task: Mutex::new(None),
            draining: AtomicBool::new(false),
            store_counts_at: Mutex::new(None),
            config,
        }))
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The registry. Its calls block: use [`AppState::blocking`] from handlers.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.0.registry
    }

    pub fn scans(&self) -> &ScanWriter {
        &self.0.scans
    }

    /// The transparency log's key, named by this service's origin (`log_sequencer::origin`).
    pub async fn log_key(&self) -> Result<Arc<tlog::LogKey>, crate::ApiError> {
        let origin = log_sequencer::origin(self.0.config.base_url.as_str());
        self.0
            .log_key
            .get_or_try_init(|| async {
                let seed = self.blocking(|r| r.log_signing_key()).await??;
                tlog::LogKey::new(&origin, seed)
                    .map(Arc::new)
                    .map_err(|e| crate::ApiError::internal(&e))
            })
            .await
            .cloned()
    }

    /// Starts sequencing the log once a second (`serve` does; a router alone does not).
    pub async fn start_log_sequencer(&self) -> Result<(), crate::ApiError> {
        let key = self.log_key().await?;
        let mut sequencer = self
            .0
            .sequencer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if sequencer.is_none() {
            *sequencer = Some(LogSequencer::start(self.0.registry.clone(), key));
            *self
                .0
                .witness_task
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = self.0.witnesses.start(
                self.0.registry.clone(),
                self.0.metrics.log_witness_requests.clone(),
            );
        }
        Ok(())
    }

    /// The log's witnesses and the cosignatures they gave.
    pub fn log_witnesses(&self) -> &LogWitnesses {
        &self.0.witnesses
    }

    /// Runs the sequencer's last round and stops it (blocking).
    pub fn close_log_sequencer(&self) {
        let witness_task = self
            .0
            .witness_task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = witness_task {
            task.abort();
        }
        let sequencer = self
            .0
            .sequencer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(sequencer) = sequencer {
            sequencer.close();
        }
    }

    /// Runs blocking registry work (sled, fsync, Ed25519) on tokio's blocking pool, so it never
    /// stalls the threads that serve requests.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Registry) -> T + Send + 'static,
    ) -> Result<T, crate::ApiError> {
        let registry = self.0.registry.clone();
        tokio::task::spawn_blocking(move || work(&registry))
            .await
            .map_err(|e| crate::ApiError::internal(&e))
    }

    pub fn limiter(&self) -> Option<&PublicLimiter> {
        self.0.limiter.as_deref()
    }

    pub fn report_limiter(&self) -> Option<&PublicLimiter> {
        self.0.report_limiter.as_deref()
    }

    pub(crate) fn in_flight(&self) -> &Semaphore {
        &self.0.in_flight
    }

    pub(crate) fn with_body(&self) -> &Semaphore {
        &self.0.with_body
    }

    /// Shutdown has begun: `/readyz` says so, so load balancers stop sending new work.
    pub fn start_draining(&self) {
        self.0.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Ordering::SeqCst)
    }

    /// True (and the clock restarted) when the store's counts were last taken longer than `every`
    /// ago, or never.
    pub(crate) fn store_counts_due(&self, every: Duration) -> bool {
        let mut at = self
            .0
            .store_counts_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if at.is_some_and(|t| t.elapsed() < every) {
            return false;
        }
        *at = Some(Instant::now());
        true
    }
}
