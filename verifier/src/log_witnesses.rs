//! The log's witnesses (`[[log.witnesses]]`): a task of the service sends each new checkpoint to
//! each witness (c2sp.org/tlog-witness `add-checkpoint`, with the consistency proof from the size
//! the witness last acknowledged), and keeps the cosignatures they answer, so `/log/checkpoint`
//! and receipts carry them.
//!
//! Off every other path: the task reads the stored tree head once a second, as any reader does,
//! so neither the sequencer nor a write ever waits for a witness. Each request has a bounded
//! time; a witness that fails is tried again after a delay that doubles up to a minute. A witness
//! down means checkpoints are served without its cosignature: logged, and counted in `/metrics`
//! (`partseal_log_witness_requests{witness,outcome}`).
//!
//! Cosignatures are kept in memory: a restarted service (or another replica) asks again, and a
//! witness cosigns the same checkpoint again.
//!
//! **Which checkpoint is served.** A witness cosigns a checkpoint a moment after the log signs
//! it, and the log signs a new one every second while events come in, so the newest checkpoint
//! often has no cosignature yet. The service serves, of the newest checkpoint and those it
//! replaced less than [`COSIGNED_LAG`] ago, the one with the most cosignatures (the newest of
//! those): a cosigned view at most a few seconds old, and the newest checkpoint, uncosigned,
//! when the witnesses have said nothing for longer.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use registry::Registry;
use tlog::witness::AddCheckpoint;

use crate::config::LogWitness;
use crate::log_sequencer::SEQUENCE_EVERY;
use crate::metrics::WitnessLabels;

/// How long a replaced checkpoint may still be served for its cosignatures.
pub const COSIGNED_LAG: Duration = Duration::from_secs(5);
/// A whole `add-checkpoint` exchange, and its connection.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest wait before a failing witness is tried again.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Checkpoints remembered with their cosignatures.
const KEPT: usize = 8;

/// The witnesses and the cosignatures they gave.
pub struct LogWitnesses {
    witnesses: Vec<LogWitness>,
    recent: Mutex<VecDeque<Cosigned>>,
}

/// A checkpoint the service sent, and what its witnesses answered.
#[derive(Clone, Debug)]
struct Cosigned {
    size: u64,
    note: String,
    /// Each witness's valid cosignature lines, by the witness's name.
    lines: BTreeMap<String, String>,
    /// When a newer checkpoint replaced it (`None`: the newest).
    replaced: Option<Instant>,
}

/// The checkpoint to serve: its tree size and its note with the cosignatures.
#[derive(Clone, Debug, PartialEq)]
pub struct Served {
    pub size: u64,
    pub note: String,
    pub cosignatures: usize,
}

impl LogWitnesses {
    pub fn new(witnesses: Vec<LogWitness>) -> Self {
        LogWitnesses {
            witnesses,
            recent: Mutex::new(VecDeque::new()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.witnesses.is_empty()
    }

    /// What to serve, given the newest checkpoint (`size`, `note`), at `now` (see the module).
    pub fn served(&self, size: u64, note: &str, now: Instant) -> Served {
        let recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        let best = recent
            .iter()
            .filter(|c| c.size <= size)
            .filter(|c| c.size == size || c.replaced.is_some_and(|t| now - t < COSIGNED_LAG))
            .filter(|c| !c.lines.is_empty())
            .max_by_key(|c| (c.lines.len(), c.size));
        match best {
            Some(c) => Served {
                size: c.size,
                note: format!(
                    "{}{}",
                    c.note,
                    c.lines.values().cloned().collect::<String>()
                ),
                cosignatures: c.lines.len(),
            },
            None => Served {
                size,
                note: note.to_owned(),
                cosignatures: 0,
            },
        }
    }

    /// Notes the newest checkpoint the task saw; the one before is replaced from `now`.
    fn saw(&self, size: u64, note: &str, now: Instant) {
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if recent.back().is_some_and(|c| c.note == note) {
            return;
        }
        for c in recent.iter_mut().filter(|c| c.replaced.is_none()) {
            c.replaced = Some(now);
        }
        recent.push_back(Cosigned {
            size,
            note: note.to_owned(),
            lines: BTreeMap::new(),
            replaced: None,
        });
        while recent.len() > KEPT {
            recent.pop_front();
        }
    }

    fn cosigned(&self, note: &str, witness: &str, lines: Vec<String>) {
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = recent.iter_mut().rev().find(|c| c.note == note) {
            c.lines.insert(witness.to_owned(), lines.concat());
        }
    }

    /// Starts the task that sends checkpoints to the witnesses (none without witnesses).
    pub fn start(
        self: &Arc<Self>,
        registry: Arc<Registry>,
        counts: Family<WitnessLabels, Counter>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        if self.witnesses.is_empty() {
            return None;
        }
        let client = match reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
        {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "cannot make the HTTP client for the log's witnesses");
                return None;
            }
        };
        let this = self.clone();
        Some(tokio::spawn(async move {
            let mut links: Vec<Link> = this
                .witnesses
                .iter()
                .map(|w| Link {
                    witness: w.clone(),
                    acknowledged: None,
                    cosigned: None,
                    failures: 0,
                    next_try: Instant::now(),
                })
                .collect();
            let mut tick = tokio::time::interval(SEQUENCE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let r = registry.clone();
                let head = match tokio::task::spawn_blocking(move || r.log_head()).await {
                    Ok(Ok(head)) if !head.checkpoint.is_empty() => head,
                    Ok(Ok(_)) => continue,
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "cannot read the log's head for its witnesses");
                        continue;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the log's witnesses: a worker failed");
                        continue;
                    }
                };
                let now = Instant::now();
                this.saw(head.size, &head.checkpoint, now);
                let head = Head {
                    size: head.size,
                    note: head.checkpoint,
                };
                let due = links
                    .iter_mut()
                    .filter(|l| l.cosigned != Some(head.size) && l.next_try <= now);
                let sends = due.map(|link| {
                    let (this, client, registry, counts, head) =
                        (&this, &client, &registry, &counts, &head);
                    async move {
                        let outcome = link.send(client, registry, head).await;
                        let name = link.witness.name.clone();
                        match outcome {
                            Ok(lines) => {
                                this.cosigned(&head.note, &name, lines);
                                link.cosigned = Some(head.size);
                                link.failures = 0;
                                counts
                                    .get_or_create(&WitnessLabels::new(name, "cosigned"))
                                    .inc();
                            }
                            Err(why) => {
                                link.failures = link.failures.saturating_add(1);
                                let wait = SEQUENCE_EVERY
                                    .saturating_mul(1 << link.failures.min(6))
                                    .min(MAX_BACKOFF);
                                link.next_try = Instant::now() + wait;
                                tracing::warn!(
                                    witness = %name,
                                    size = head.size,
                                    error = %why,
                                    retry_in_secs = wait.as_secs(),
                                    "the log's checkpoint is not cosigned by this witness"
                                );
                                counts
                                    .get_or_create(&WitnessLabels::new(name, "failed"))
                                    .inc();
                            }
                        }
                    }
                });
                futures_util::future::join_all(sends).await;
            }
        }))
    }
}

/// The newest checkpoint.
struct Head {
    size: u64,
    note: String,
}

/// The service's view of one witness.
struct Link {
    witness: LogWitness,
    /// The tree size the witness last said it knows (its 200, or its 409's body).
    acknowledged: Option<u64>,
    /// The size of the checkpoint it last cosigned for this service.
    cosigned: Option<u64>,
    failures: u32,
    next_try: Instant,
}

impl Link {
    /// Sends the checkpoint; on a 409, once more from the size the witness says it knows.
    /// The witness's valid cosignature lines, or why there are none.
    async fn send(
        &mut self,
        client: &reqwest::Client,
        registry: &Arc<Registry>,
        head: &Head,
    ) -> Result<Vec<String>, String> {
        for _ in 0..2 {
            let old = self.acknowledged.unwrap_or(0);
            if old > head.size {
                // A witness ahead of this tree: another replica's newer head not read yet, or a
                // log that lost entries. Either way nothing to prove until the tree is that size.
                return Err(format!(
                    "the witness knows a tree of {old} entries, larger than this one"
                ));
            }
            let r = registry.clone();
            let size = head.size;
            let proof = tokio::task::spawn_blocking(move || r.log_consistency_proof(size, old))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("the consistency proof from {old}: {e}"))?;
            let body = AddCheckpoint {
                old_size: old,
                proof,
                checkpoint: head.note.clone(),
            }
            .to_body();
            let response = client
                .post(format!("{}/add-checkpoint", self.witness.url))
                .body(body)
                .send()
                .await
                .map_err(|e| format!("unreachable: {e}"))?;
            let status = response.status().as_u16();
            let text = response
                .text()
                .await
                .map_err(|e| format!("answer cut short: {e}"))?;
            match status {
                200 => {
                    let lines = self.witness.key.valid_lines(&head.note, &text);
                    if lines.is_empty() {
                        return Err("its answer holds no valid cosignature of its key".into());
                    }
                    self.acknowledged = Some(head.size);
                    return Ok(lines);
                }
                409 => match text.trim().parse::<u64>() {
                    Ok(known) if Some(known) != self.acknowledged => {
                        self.acknowledged = Some(known);
                    }
                    _ => return Err(format!("409 with the size {:?}", text.trim())),
                },
                _ => {
                    let said: String = text.trim().chars().take(200).collect();
                    return Err(format!("refused with {status}: {said}"));
                }
            }
        }
        Err("it answered 409 twice".into())
    }
}

/// Proves a receipt (made in the newest checkpoint) in the checkpoint `/log/checkpoint` serves,
/// so it carries the witnesses' cosignatures; left as it is when that checkpoint does not hold
/// its entry yet (a second later it will), or has no cosignature. Blocking: a store read.
pub fn cosigned_receipt(state: &crate::AppState, receipt: &mut tlog::Receipt) {
    let witnesses = state.log_witnesses();
    if witnesses.is_empty() {
        return;
    }
    let Ok(head) = state.registry().log_head() else {
        return;
    };
    let served = witnesses.served(head.size, &head.checkpoint, Instant::now());
    if served.cosignatures == 0 || receipt.index >= served.size {
        return;
    }
    match state
        .registry()
        .log_inclusion_proof(served.size, receipt.index)
    {
        Ok(proof) => receipt.prove_in(served.note, &proof),
        Err(e) => tracing::error!(error = %e, "cannot prove a receipt in the cosigned checkpoint"),
    }
}
