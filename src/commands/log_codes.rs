//! The maker's check of its own codes (`partseal log monitor --codes FILE --token FILE`): each
//! code's history as the service shows it to its maker, against the log's entries about the code,
//! found by the lookup tags only a label's holder can compute (`docs/transparency-log.md`).
//!
//! What the maker's API gives is each event's number, step, time and actor, not the event's stored
//! encoding nor its entry's salt, so the check compares *which* events exist, not what they say:
//! every event `n ≥ 1` of the history must have exactly one entry tagged `t(n)` in the log, and no
//! entry tagged `t(m)` may exist for an event the history does not show (looked for up to
//! [`LOOKAHEAD`] events beyond its end). A registration is in its batch's entry, tagged with `t(0)`
//! of the batch's first code only: the other codes' registrations cannot be found this way.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context;
use signer::SignedCode;
use tlog::{Entry, LabelKey, Tag};

/// How many event numbers beyond the history's last are looked for in the log: an operator who
/// hides more than this many of a code's latest events from its maker is not caught.
pub const LOOKAHEAD: u32 = 4;

/// A path's HTTP status and body, or why the service could not be asked.
pub type Answer = Result<(u16, Vec<u8>), String>;

/// One code of the maker's, with the events the service shows and the log's entries found.
struct Watched {
    /// `(01)…(21)…`, as the maker reads it.
    name: String,
    gtin: String,
    serial: String,
    label: LabelKey,
    /// The history's events by number (`None` until fetched, or when the service shows none).
    events: Option<BTreeMap<u32, String>>,
    /// The log's entries by the event number their tag names.
    found: BTreeMap<u32, Vec<u64>>,
}

/// The maker's codes and what the service and the log say about them.
pub struct MakerCheck {
    codes: Vec<Watched>,
    tags: HashMap<Tag, (usize, u32)>,
}

impl MakerCheck {
    /// The codes of a signed batch file (`partseal sign`'s JSON Lines, each with its `uri`).
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the codes {}", path.display()))?;
        let mut codes = Vec::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let at = || format!("{} line {}", path.display(), i + 1);
            let value: serde_json::Value = serde_json::from_str(line).with_context(at)?;
            let uri = value["uri"]
                .as_str()
                .with_context(|| format!("{}: no `uri`", at()))?;
            let code = SignedCode::parse(uri).map_err(|e| anyhow::anyhow!("{}: {e}", at()))?;
            codes.push(Watched {
                name: code.part.element_string(),
                gtin: code.part.gtin.as_str().to_owned(),
                serial: code.part.serial.as_str().to_owned(),
                label: LabelKey::from_signature(&code.signature.to_bytes()),
                events: None,
                found: BTreeMap::new(),
            });
        }
        Ok(MakerCheck {
            codes,
            tags: HashMap::new(),
        })
    }

    /// Asks the service for each code's history (`GET /api/v1/codes/{gtin}/{serial}`, as the
    /// maker), and computes the tags to look for. `get` answers a path with the status and body.
    pub fn fetch_histories(&mut self, get: &mut dyn FnMut(&str) -> Answer) -> Result<(), String> {
        self.tags.clear();
        for (i, code) in self.codes.iter_mut().enumerate() {
            let path = format!("/api/v1/codes/{}/{}", code.gtin, code.serial);
            let (status, body) = get(&path)?;
            code.found.clear();
            code.events = match status {
                200 => {
                    let value: serde_json::Value = serde_json::from_slice(&body)
                        .map_err(|e| format!("GET {path}: not JSON: {e}"))?;
                    let events = value["events"]
                        .as_array()
                        .ok_or_else(|| format!("GET {path}: no `events`"))?;
                    let mut by_seq = BTreeMap::new();
                    for event in events {
                        let seq = event["seq"]
                            .as_u64()
                            .and_then(|s| u32::try_from(s).ok())
                            .ok_or_else(|| format!("GET {path}: an event without its `seq`"))?;
                        let step = event["step"].as_str().unwrap_or("?");
                        let at = event["at"].as_str().unwrap_or("?");
                        by_seq.insert(seq, format!("{step} at {at}"));
                    }
                    Some(by_seq)
                }
                404 => None,
                other => return Err(format!("GET {path}: {other}")),
            };
            let last = code
                .events
                .as_ref()
                .and_then(|e| e.keys().next_back().copied());
            let end = last
                .map_or(0, |l| l.saturating_add(1))
                .saturating_add(LOOKAHEAD);
            for n in 0..end {
                self.tags.insert(code.label.tag(n), (i, n));
            }
        }
        Ok(())
    }

    /// One entry of the log, at `index`: remembered if its tag is one of the codes'.
    pub fn seen(&mut self, index: u64, entry: &Entry) {
        if let Some(&(i, n)) = self.tags.get(&entry.tag) {
            if let Some(code) = self.codes.get_mut(i) {
                code.found.entry(n).or_default().push(index);
            }
        }
    }

    /// After the whole log was walked: each code's line, and whether any differed.
    pub fn report(&self) -> (Vec<String>, bool) {
        let mut lines = Vec::new();
        let mut differs = false;
        for code in &self.codes {
            let problems = code.problems();
            differs |= !problems.is_empty();
            if problems.is_empty() {
                let count = code.events.as_ref().map_or(0, BTreeMap::len);
                let events = if count == 1 { "event" } else { "events" };
                lines.push(format!(
                    "code {}: {count} {events}, each in the log once, nothing more in the log",
                    code.name
                ));
            }
            for problem in problems {
                lines.push(format!("code {}: {problem}", code.name));
            }
        }
        (lines, differs)
    }
}

impl Watched {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let empty = BTreeMap::new();
        let events = match &self.events {
            Some(events) => events,
            None => {
                problems.push("the service shows its maker no history of it".to_owned());
                &empty
            }
        };
        for (&n, what) in events {
            match self.found.get(&n).map(Vec::as_slice) {
                // The registration is in its batch's entry, under the batch's first code's tag.
                None | Some([]) if n == 0 => {}
                None | Some([]) => problems.push(format!(
                    "event #{n} ({what}) is in the service's history and not in the log"
                )),
                Some([_]) => {}
                Some(indexes) => problems.push(format!(
                    "the log holds {} entries for event #{n} ({what}), at indexes {indexes:?}: one was rewritten",
                    indexes.len()
                )),
            }
        }
        for (n, indexes) in &self.found {
            if !events.contains_key(n) {
                problems.push(format!(
                    "the log holds event #{n} (entry {indexes:?}), and the service's history does not show it"
                ));
            }
        }
        problems
    }
}
