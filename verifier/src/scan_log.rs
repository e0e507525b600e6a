//! Public scans are recorded off the request path: handlers queue them, one thread writes them.
//!
//! A scan is analytics, not an acknowledged write, so the answer to the person scanning never waits
//! for it. The queue is bounded; if it is full (a flood of scans), further scans are dropped and
//! counted in the metrics rather than slowing the verifier down. At shutdown [`ScanLog::close`]
//! lets the writer finish the queue before the store's last flush.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use prometheus_client::metrics::counter::Counter;
use registry::{CodeKey, Registry, ScanContext};
use signer::Timestamp;

/// Scans waiting to be written, at most.
pub const QUEUE: usize = 65_536;

enum Message {
    Scan(CodeKey, ScanContext, Timestamp),
    /// Everything queued before this is written; stop.
    Close,
}

pub struct ScanLog {
    queue: SyncSender<Message>,
    writer: Mutex<Option<JoinHandle<()>>>,
    dropped: Counter,
}

impl ScanLog {
    /// Starts the writer thread.
    pub fn start(registry: Arc<Registry>, dropped: Counter) -> Self {
        let (queue, scans) = sync_channel(QUEUE);
        let writer = std::thread::Builder::new()
            .name("scan-log".into())
            .spawn(move || write_scans(&registry, scans))
            .map_err(|e| tracing::error!(error = %e, "cannot start the scan writer"))
            .ok();
        ScanLog {
            queue,
            writer: Mutex::new(writer),
            dropped,
        }
    }

    pub fn record(&self, key: CodeKey, ctx: ScanContext, at: Timestamp) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.queue.try_send(Message::Scan(key, ctx, at))
        {
            self.dropped.inc();
        }
    }

    /// Writes what is queued and stops the writer (blocking). Later scans are dropped and counted.
    pub fn close(&self) {
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = writer {
            let _ = self.queue.send(Message::Close);
            let _ = writer.join();
        }
    }
}

fn write_scans(registry: &Registry, scans: Receiver<Message>) {
    for message in scans {
        match message {
            Message::Scan(key, ctx, at) => {
                if let Err(e) = registry.record_scan(&key, &ctx, at) {
                    tracing::error!(error = %e, "cannot record a scan");
                }
            }
            Message::Close => return,
        }
    }
}
