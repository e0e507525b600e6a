//! EPCIS capture ([`Registry::capture`]): a partner's `EPCISDocument` read event by event
//! ([`epcis_capture::read_event`](crate::epcis_capture::read_event)), each judged by the same
//! methods as the parties' API (`submit`, the carton steps), and the capture job kept in the
//! store so it is answered after a restart.

use serde_json::Value;
use signer::{BaseUrl, Timestamp};

use super::{Registry, Result, Submission};
use crate::epcis_capture::{
    CaptureJob, Captured, CapturedEvent, ErrorBehaviour, EventError, new_job_id, read_event,
};
use crate::error::RegistryError;
use crate::store::StoreError;
use crate::{Action, Outcome, Party, PartyId};

/// Why one captured event was not stored: the store failed (the whole capture fails, answered
/// as the store's fault), or the event was refused (listed in the job).
enum Failed {
    Store(RegistryError),
    Event(String, String),
}

impl Registry {
    /// Captures the events of an `EPCISDocument` for `actor`, each read by [`read_event`] and
    /// judged by the same registry methods as the parties' API. Under
    /// [`ErrorBehaviour::Rollback`], an event that cannot be read, or a code named twice in the
    /// document, stores nothing at all; the job is stored, durably, before this returns.
    pub fn capture(
        &self,
        base: &BaseUrl,
        actor: &Party,
        events: &[Value],
        behaviour: ErrorBehaviour,
        now: Timestamp,
    ) -> Result<CaptureJob> {
        let id_of = |event: &Value| {
            event
                .get("eventID")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let read: Vec<Result<Captured, EventError>> = events
            .iter()
            .enumerate()
            .map(|(index, event)| {
                read_event(base, actor.role, event).map_err(|reason| EventError {
                    index,
                    event_id: id_of(event),
                    code: "unsupported_event".to_owned(),
                    reason,
                })
            })
            .collect();
        let mut errors: Vec<EventError> = read.iter().filter_map(|r| r.clone().err()).collect();
        // A repeated eventID (already captured, or twice in this document) is refused: GS1
        // resolved that a capture must not store one event twice.
        let mut seen = std::collections::HashSet::new();
        let mut repeated = vec![false; events.len()];
        for (index, event) in events.iter().enumerate() {
            let Some(id) = id_of(event) else { continue };
            if !seen.insert(id.clone()) || self.store.captured_event(&id)?.is_some() {
                repeated[index] = true;
                errors.push(EventError {
                    index,
                    event_id: Some(id),
                    code: "event_id_repeated".to_owned(),
                    reason: "this eventID was captured already; nothing stored for it".to_owned(),
                });
            }
        }
        if behaviour == ErrorBehaviour::Rollback {
            errors.extend(touched_twice(&read, events, &id_of));
            for (index, captured) in read.iter().enumerate() {
                let Ok(captured) = captured else { continue };
                for key in captured.codes() {
                    if self.status(&key)?.is_none() {
                        errors.push(EventError {
                            index,
                            event_id: id_of(&events[index]),
                            code: "not_registered".to_owned(),
                            reason: format!("code {key} is not registered"),
                        });
                        break;
                    }
                }
            }
        }
        let job_id = new_job_id();
        let mut stored = 0;
        if behaviour == ErrorBehaviour::Proceed || errors.is_empty() {
            for (index, captured) in read.iter().enumerate() {
                let Ok(captured) = captured else { continue };
                if repeated[index] {
                    continue;
                }
                match self.apply_captured(&actor.id, captured, now) {
                    Ok(recorded) => {
                        stored += 1;
                        if let Some(id) = id_of(&events[index]) {
                            self.keep_event_id(&id, &job_id, index, recorded)?;
                        }
                    }
                    Err(Failed::Store(e)) => return Err(e),
                    Err(Failed::Event(code, reason)) => errors.push(EventError {
                        index,
                        event_id: id_of(&events[index]),
                        code,
                        reason,
                    }),
                }
            }
        }
        errors.sort_by_key(|e| e.index);
        let job = CaptureJob {
            id: job_id,
            party: actor.id.to_string(),
            behaviour,
            created_at: now.to_string(),
            finished_at: Timestamp::now().to_string(),
            events: events.len(),
            stored,
            errors,
        };
        let bytes = serde_json::to_vec(&job)
            .map_err(|e| StoreError::corrupt("capture job", e.to_string()))?;
        let _gate = self.write_gate();
        self.store.put_capture_job(&job.id, &bytes)?;
        self.store.durable()?;
        Ok(job)
    }

    /// The capture job `id`, if `party` made it (anyone else is told nothing).
    pub fn capture_job(&self, id: &str, party: &PartyId) -> Result<Option<CaptureJob>> {
        let Some(bytes) = self.store.capture_job(id)? else {
            return Ok(None);
        };
        let job: CaptureJob = serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::corrupt("capture job", e.to_string()))?;
        Ok((job.party == party.as_str()).then_some(job))
    }

    /// Whether `event_id` was captured already.
    pub fn event_id_captured(&self, event_id: &str) -> Result<bool> {
        Ok(self.store.captured_event(event_id)?.is_some())
    }

    /// Keeps what the event `event_id` was stored as.
    fn keep_event_id(
        &self,
        event_id: &str,
        job: &str,
        index: usize,
        events: Vec<(String, u32)>,
    ) -> Result<()> {
        let kept = CapturedEvent {
            job: job.to_owned(),
            index,
            events,
        };
        let bytes = serde_json::to_vec(&kept)
            .map_err(|e| StoreError::corrupt("captured event", e.to_string()))?;
        let _gate = self.write_gate();
        Ok(self.store.put_captured_event(event_id, &bytes)?)
    }

    /// One captured event through the registry's own methods: each code's key and event number,
    /// or the error's code and sentence.
    fn apply_captured(
        &self,
        actor: &PartyId,
        captured: &Captured,
        now: Timestamp,
    ) -> std::result::Result<Vec<(String, u32)>, Failed> {
        let refused = |e: RegistryError| match e {
            RegistryError::Store(_) => Failed::Store(e),
            e => Failed::Event(e.code().to_owned(), e.to_string()),
        };
        match captured {
            Captured::Codes {
                codes,
                action,
                vin_confirmed,
            } => {
                let mut recorded_as = Vec::new();
                for (key, presented) in codes {
                    let submission = Submission {
                        action: action.clone(),
                        presented: presented.clone(),
                        recall_override: false,
                        vin_confirmed: *vin_confirmed,
                    };
                    let recorded = self.submit(key, actor, submission, now).map_err(refused)?;
                    if let Outcome::Refused { .. } = recorded.event.outcome {
                        return Err(Failed::Event(
                            "not_holder".to_owned(),
                            format!(
                                "{key}: only the party holding a part may record {} for it; \
                                 nothing changed, the attempt was kept for the manufacturer",
                                recorded.event.step().as_str()
                            ),
                        ));
                    }
                    recorded_as.push((key.to_string(), recorded.event.seq));
                }
                Ok(recorded_as)
            }
            Captured::CartonMove { carton, action } => {
                let moved = match action {
                    Action::Ship { to } => self.ship_carton(actor, carton, to, now),
                    _ => self.receive_carton(actor, carton, now),
                }
                .map_err(refused)?;
                Ok(moved
                    .iter()
                    .map(|m| (m.key.to_string(), m.event.seq))
                    .collect())
            }
            Captured::Pack { carton, codes } => {
                self.pack_carton(actor, carton, codes, &[], now)
                    .map_err(refused)?;
                Ok(Vec::new())
            }
            Captured::Unpack { carton, codes } => {
                match codes {
                    None => self.unpack_carton(actor, carton),
                    Some(codes) => self.unpack_from(actor, carton, codes, &[]),
                }
                .map_err(refused)?;
                Ok(Vec::new())
            }
        }
    }
}

/// Under rollback, every event after the first that names a code or carton an earlier event of
/// the same document names: each event is judged against the records as they stand before the
/// document, so a second event on the same code could not be judged as its predecessor leaves it.
fn touched_twice(
    read: &[Result<Captured, EventError>],
    events: &[Value],
    id_of: &impl Fn(&Value) -> Option<String>,
) -> Vec<EventError> {
    let mut codes = std::collections::HashSet::new();
    let mut cartons = std::collections::HashSet::new();
    let mut errors = Vec::new();
    for (index, captured) in read.iter().enumerate() {
        let Ok(captured) = captured else { continue };
        let code_again = captured.codes().into_iter().any(|k| !codes.insert(k));
        let carton_again = captured.carton().is_some_and(|c| !cartons.insert(c));
        if code_again || carton_again {
            errors.push(EventError {
                index,
                event_id: id_of(&events[index]),
                code: "touched_twice".to_owned(),
                reason: "under GS1-Capture-Error-Behaviour: rollback a document names each code \
                         and carton in one event only; send the later steps in a document of \
                         their own, or capture with proceed"
                    .to_owned(),
            });
        }
    }
    errors
}
