//! Sequences the transparency log once a second, on its own thread, off every request's path
//! (`registry::store::log`): an acknowledged event is in a signed checkpoint within about a second.
//! Several replicas may each run one on a shared database; each round's compare-and-swap of the tree
//! head lets exactly one of them extend the tree.

use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use registry::Registry;
use tlog::LogKey;

/// How often the pool is sequenced.
pub const SEQUENCE_EVERY: Duration = Duration::from_secs(1);

pub struct LogSequencer {
    /// Dropping the sender (in [`LogSequencer::close`]) tells the thread to run once more and stop.
    stop: Mutex<Option<Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl LogSequencer {
    /// Starts the sequencer thread.
    pub fn start(registry: Arc<Registry>, key: Arc<LogKey>) -> Self {
        let (stop, stopped) = channel::<()>();
        let thread = std::thread::Builder::new()
            .name("log-sequencer".into())
            .spawn(move || {
                loop {
                    match registry.sequence_log(&key) {
                        Ok(done) if done.entries > 0 => {
                            tracing::debug!(
                                entries = done.entries,
                                size = done.size,
                                "log sequenced"
                            );
                        }
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "cannot sequence the log"),
                    }
                    match stopped.recv_timeout(SEQUENCE_EVERY) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                            // Once more, so a clean shutdown leaves nothing acknowledged unlogged
                            // for longer than the next start.
                            if let Err(e) = registry.sequence_log(&key) {
                                tracing::error!(error = %e, "cannot sequence the log at shutdown");
                            }
                            return;
                        }
                    }
                }
            })
            .map_err(|e| tracing::error!(error = %e, "cannot start the log sequencer"))
            .ok();
        LogSequencer {
            stop: Mutex::new(Some(stop)),
            thread: Mutex::new(thread),
        }
    }

    /// Runs a last round and stops the thread (blocking).
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

/// The log's origin for a service at `base_url`: its host (and port) and `/log`, the prefix its
/// tiles are served under, as tlog-checkpoint recommends.
pub fn origin(base_url: &str) -> String {
    let host = base_url
        .strip_prefix("https://")
        .or_else(|| base_url.strip_prefix("http://"))
        .unwrap_or(base_url)
        .trim_end_matches('/');
    format!("{host}/log")
}
