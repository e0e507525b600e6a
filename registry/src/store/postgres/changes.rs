//! Telling every replica which codes another one changed, so each can keep records in memory for
//! long and still never serve one more than moments older than the database's.
//!
//! The transaction that changes codes also sends their keys on the channel [`CHANNEL`]
//! (`pg_notify`, delivered at commit, in commit order) with the sending process's id; each
//! process listens on one connection of its own and forgets the records others changed. While it
//! is not listening (the connection lost, a failover, a database without LISTEN such as
//! CockroachDB) it says so, and its records are again served for at most the staleness bound.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::store::tables::{ChangeNote, Changed};

pub const CHANNEL: &str = "partseal_codes";
/// A notification's payload stays under PostgreSQL's 8000-byte limit.
const MAX_PAYLOAD: usize = 7000;

/// The payloads that tell of `keys` changed by process `origin`.
pub fn payloads<'a>(origin: u64, keys: impl IntoIterator<Item = &'a [u8]>) -> Vec<String> {
    let mut out = Vec::new();
    let start = format!("{origin:016x}:");
    let mut payload = start.clone();
    for key in keys {
        let encoded = URL_SAFE_NO_PAD.encode(key);
        if payload.len() + encoded.len() + 1 > MAX_PAYLOAD && payload.len() > start.len() {
            out.push(std::mem::replace(&mut payload, start.clone()));
        }
        if payload.len() > start.len() {
            payload.push(',');
        }
        payload.push_str(&encoded);
    }
    if payload.len() > start.len() {
        out.push(payload);
    }
    out
}

/// Tells `note` of the keys in a payload another process sent.
fn tell(origin: u64, payload: &str, note: &ChangeNote) {
    let Some((from, keys)) = payload.split_once(':') else {
        return;
    };
    if u64::from_str_radix(from, 16).ok() == Some(origin) {
        // Its own writes: the process already holds what it wrote.
        return;
    }
    for key in keys.split(',') {
        match URL_SAFE_NO_PAD.decode(key) {
            Ok(key) => note(Changed::Code(&key)),
            // Not ours to read: whatever it changed, forget everything.
            Err(_) => note(Changed::Watching),
        }
    }
}

/// Listens for other processes' changes for as long as the runtime runs, connecting again (with
/// backoff) whenever the connection goes.
pub async fn listen(config: tokio_postgres::Config, origin: u64, note: ChangeNote) {
    let mut pause = Duration::from_millis(100);
    loop {
        match config.connect(NoTls).await {
            Err(e) => tracing::debug!(error = %e, "cannot listen for other replicas' changes"),
            Ok((client, mut connection)) => {
                let (sender, mut received) = tokio::sync::mpsc::unbounded_channel::<String>();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(Ok(message)) = messages.next().await {
                        if let AsyncMessage::Notification(n) = message {
                            if sender.send(n.payload().to_owned()).is_err() {
                                break;
                            }
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        note(Changed::Watching);
                        tracing::info!("told of other replicas' changes");
                        pause = Duration::from_millis(100);
                        while let Some(payload) = received.recv().await {
                            tell(origin, &payload, &note);
                        }
                        tracing::warn!("no longer told of other replicas' changes; reconnecting");
                    }
                    Err(e) => tracing::info!(error = %e, "the database does not tell of changes"),
                }
                note(Changed::Lost);
                driver.abort();
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn keys_travel_in_payloads_under_the_limit_and_a_process_ignores_its_own() {
        let keys: Vec<Vec<u8>> = (0..1000u32).map(|i| i.to_be_bytes().repeat(6)).collect();
        let payloads = payloads(7, keys.iter().map(Vec::as_slice));
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() <= MAX_PAYLOAD));
        let told = Arc::new(Mutex::new(Vec::new()));
        let note: ChangeNote = {
            let told = told.clone();
            Arc::new(move |c| {
                if let Changed::Code(k) = c {
                    told.lock().unwrap().push(k.to_vec());
                }
            })
        };
        for p in &payloads {
            tell(7, p, &note);
        }
        assert!(told.lock().unwrap().is_empty(), "its own changes");
        for p in &payloads {
            tell(8, p, &note);
        }
        assert_eq!(*told.lock().unwrap(), keys);
    }
}
