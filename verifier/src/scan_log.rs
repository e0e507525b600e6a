//! Public scans are recorded off the request path: handlers queue them, one thread writes them.
//!
//! A scan is analytics, not an acknowledged write, so the answer to the person scanning never waits
//! for it. The queue is bounded; if it is full (a flood of scans), further scans are dropped and
//! counted in the metrics rather than slowing the verifier down.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use prometheus_client::metrics::counter::Counter;
use registry::{CodeKey, Registry, ScanContext};
use signer::Timestamp;

/// Scans waiting to be written, at most.
pub const QUEUE: usize = 65_536;

pub struct ScanLog {
    queue: SyncSender<(CodeKey, ScanContext, Timestamp)>,
    dropped: Counter,
}

impl ScanLog {
    /// Starts the writer thread; it ends when the log is dropped and the queue is drained.
    pub fn start(registry: Arc<Registry>, dropped: Counter) -> Self {
        let (queue, scans) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("scan-log".into())
            .spawn(move || write_scans(&registry, scans))
            .map_err(|e| tracing::error!(error = %e, "cannot start the scan writer"))
            .ok();
        ScanLog { queue, dropped }
    }

    pub fn record(&self, key: CodeKey, ctx: ScanContext, at: Timestamp) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.queue.try_send((key, ctx, at))
        {
            self.dropped.inc();
        }
    }
}

fn write_scans(registry: &Registry, scans: Receiver<(CodeKey, ScanContext, Timestamp)>) {
    for (key, ctx, at) in scans {
        if let Err(e) = registry.record_scan(&key, &ctx, at) {
            tracing::error!(error = %e, "cannot record a scan");
        }
    }
}
