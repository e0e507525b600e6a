//! Writes the registry's in-memory scan counts to the store every few seconds, on its own thread.
//!
//! Handlers count a public scan inline ([`registry::Registry::record_scan`]: a lookup in memory);
//! this thread writes the counts behind ([`registry::Registry::write_scans`]), so a scan costs the
//! request neither a store write nor a hand-off to another thread. A crash loses at most the last
//! [`WRITE_EVERY`] of scan counts; at shutdown [`ScanWriter::close`] writes what is left before the
//! store's last flush.

use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use registry::Registry;

/// How often counted scans are written to the store.
pub const WRITE_EVERY: Duration = Duration::from_secs(5);

pub struct ScanWriter {
    /// Dropping the sender (in [`ScanWriter::close`]) tells the thread to write once more and stop.
    stop: Mutex<Option<Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl ScanWriter {
    /// Starts the writer thread.
    pub fn start(registry: Arc<Registry>) -> Self {
        let (stop, stopped) = channel::<()>();
        let thread = std::thread::Builder::new()
            .name("scan-writer".into())
            .spawn(move || {
                loop {
                    let last = match stopped.recv_timeout(WRITE_EVERY) {
                        Err(RecvTimeoutError::Timeout) => false,
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
                    };
                    match registry.write_scans() {
                        Ok(n) => tracing::debug!(codes = n, "scan counts written"),
                        Err(e) => tracing::error!(error = %e, "cannot write scan counts"),
                    }
                    if last {
                        return;
                    }
                }
            })
            .map_err(|e| tracing::error!(error = %e, "cannot start the scan writer"))
            .ok();
        ScanWriter {
            stop: Mutex::new(Some(stop)),
            thread: Mutex::new(thread),
        }
    }

    /// Writes the scans counted so far and stops the thread (blocking). Scans counted later are
    /// written by the registry's own flush at shutdown.
    pub fn close(&self) {
        drop(
            self.stop
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}
