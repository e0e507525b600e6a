//! Stopping the service: the first SIGTERM or Ctrl-C begins a graceful stop (no new connections,
//! requests in flight finish, the store is flushed); each later one says what the stop is still
//! waiting for, instead of nothing happening at all.

use std::future::Future;

use verifier::AppState;

/// A future for [`verifier::serve`]'s `shutdown`: resolves on the first SIGTERM or SIGINT and
/// from then on answers each further one by saying what the stop waits for (it must be created
/// inside the runtime; the signals are listened for from the start so that none is missed).
pub fn on_signal(state: AppState) -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let streams = signal(SignalKind::terminate())
        .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)));
    async move {
        let (mut term, mut interrupt) = match streams {
            Ok(streams) => streams,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM or SIGINT");
                return std::future::pending().await;
            }
        };
        tokio::select! {
            _ = term.recv() => {},
            _ = interrupt.recv() => {},
        }
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = interrupt.recv() => {},
                }
                still_stopping(&state);
            }
        });
    }
}

fn still_stopping(state: &AppState) {
    let open = state.metrics().connections_open.get();
    let config = state.config();
    if open > 0 {
        tracing::warn!(
            open_connections = open,
            "still stopping: waiting for {open} open connection(s) to finish their requests in \
             flight (a body that stops arriving is cut off after {} s, an idle connection after \
             {} s), then flushing the store; every acknowledged write is already durable, so \
             `kill -9 {}` loses none of them",
            config.body_read_timeout.as_secs(),
            config.idle_timeout.as_secs(),
            std::process::id()
        );
    } else {
        tracing::warn!(
            "still stopping: writing the counted scans and flushing the store, then it exits"
        );
    }
}
