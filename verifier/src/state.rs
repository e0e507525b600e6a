//! The one piece of shared state every handler receives through axum's `State`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Semaphore;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::rate_limit::PublicLimiter;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    config: Config,
    metrics: Metrics,
    limiter: Option<Arc<PublicLimiter>>,
    /// Permits for requests in flight; when none is left the service sheds load.
    in_flight: Semaphore,
    draining: AtomicBool,
}

impl AppState {
    pub fn new(config: Config) -> Self {
        AppState(Arc::new(Inner {
            limiter: PublicLimiter::per_minute(config.rate_limit),
            in_flight: Semaphore::new(config.max_in_flight),
            metrics: Metrics::new(),
            draining: AtomicBool::new(false),
            config,
        }))
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    pub fn limiter(&self) -> Option<&PublicLimiter> {
        self.0.limiter.as_deref()
    }

    pub(crate) fn in_flight(&self) -> &Semaphore {
        &self.0.in_flight
    }

    /// Shutdown has begun: `/readyz` says so, so load balancers stop sending new work.
    pub fn start_draining(&self) {
        self.0.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Ordering::SeqCst)
    }
}
