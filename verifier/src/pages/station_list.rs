//! The shop station's list of recent scans as the store keeps it, per shop
//! ([`registry::Registry::station_list`]): the list and its Undo buttons outlive a sign-in and
//! follow the shop to another device or replica, within the correction window each row's Undo
//! carries. JSON with a version, opaque to the registry: the list is what the station shows,
//! not custody (the events are in the registry's history whatever happens to it).
//!
//! Two devices of one shop writing at the same moment keep the later list; a row lost that way
//! loses only its line on the screen, never its event.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use registry::{Action, CodeKey, Vin};
use serde::{Deserialize, Serialize};
use signer::{DigitalLink, Sscc, Timestamp};

use super::session::{CartonUndo, PartGroup, PartRow, ScanRow};

const VERSION: u32 = 1;

/// The list and the number the next row gets.
#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    next_row: u64,
    /// Newest first.
    rows: Vec<StoredRow>,
}

#[derive(Serialize, Deserialize)]
struct StoredRow {
    id: u64,
    class: String,
    texts: [String; 2],
    code: String,
    at: String,
    ask: bool,
    recall: bool,
    /// The code key's bytes, base64url.
    key: Option<String>,
    /// The event Undo corrects, and until when (seconds since the epoch).
    undoable: Option<(u32, i64)>,
    /// A question's vehicle, and the step asked about (`receive`, or the VIN installed into).
    asked: Option<(String, Asked)>,
    /// A question's label, as its path and query.
    label: Option<String>,
    /// A carton's parts by carton (none in lists written before the station took cartons).
    #[serde(default)]
    contents: Vec<StoredGroup>,
    /// A carton's receiving, which Undo corrects.
    #[serde(default)]
    carton: Option<StoredCarton>,
}

#[derive(Serialize, Deserialize)]
struct StoredCarton {
    sscc: String,
    /// Each code's key (base64url) with its receiving's event.
    events: Vec<(String, u32)>,
    /// Until when Undo may (seconds since the epoch).
    until: i64,
}

#[derive(Serialize, Deserialize)]
struct StoredGroup {
    carton: Option<String>,
    headings: [String; 2],
    /// Each part's code, class and words.
    parts: Vec<(String, String, [String; 2])>,
}

#[derive(Serialize, Deserialize)]
enum Asked {
    Receive,
    Install(String),
}

/// The rows and the next row number, encoded for the store. A question whose label or step
/// cannot be written down (none today) is kept as a row without its buttons.
pub fn encode(rows: &[ScanRow], next_row: u64) -> Vec<u8> {
    let stored = Stored {
        version: VERSION,
        next_row,
        rows: rows.iter().map(stored_row).collect(),
    };
    serde_json::to_vec(&stored).unwrap_or_default()
}

/// The rows and the next row number the store kept; `None` for what this version cannot read
/// (the station then starts a new list rather than fail).
pub fn decode(bytes: &[u8]) -> Option<(Vec<ScanRow>, u64)> {
    let stored: Stored = serde_json::from_slice(bytes).ok()?;
    if stored.version != VERSION {
        return None;
    }
    let rows = stored.rows.into_iter().filter_map(scan_row).collect();
    Some((rows, stored.next_row))
}

fn stored_row(row: &ScanRow) -> StoredRow {
    let label = row
        .label
        .clone()
        .and_then(|l| l.into_signed().ok())
        .map(|code| code.path_and_query());
    let asked = row.asked.as_ref().and_then(|(vin, action)| {
        let step = match action {
            Action::Receive => Asked::Receive,
            Action::Install { vin: into } => Asked::Install(into.as_str().to_owned()),
            _ => return None,
        };
        Some((vin.as_str().to_owned(), step))
    });
    // A question is kept only whole: its buttons need the label and the step.
    let whole = label.is_some() && asked.is_some();
    StoredRow {
        id: row.id,
        class: row.class.to_owned(),
        texts: row.texts.clone(),
        code: row.code.clone(),
        at: row.at.clone(),
        ask: row.ask && whole,
        recall: row.recall && row.key.is_some() && whole,
        key: row
            .key
            .as_ref()
            .map(|k| URL_SAFE_NO_PAD.encode(k.as_bytes())),
        undoable: row.undoable.map(|(seq, until)| (seq, until.0)),
        asked: asked.filter(|_| whole),
        label: label.filter(|_| whole),
        contents: row
            .contents
            .iter()
            .map(|g| StoredGroup {
                carton: g.carton.clone(),
                headings: g.headings.clone(),
                parts: g
                    .parts
                    .iter()
                    .map(|p| (p.code.clone(), p.class.to_owned(), p.texts.clone()))
                    .collect(),
            })
            .collect(),
        carton: row.carton.as_ref().map(|c| {
            let events = c
                .events
                .iter()
                .map(|(key, seq)| (URL_SAFE_NO_PAD.encode(key.as_bytes()), *seq))
                .collect();
            StoredCarton {
                sscc: c.sscc.as_str().to_owned(),
                events,
                until: c.until.0,
            }
        }),
    }
}

fn class_of(text: &str) -> Option<&'static str> {
    ["ok", "info", "warning", "danger"]
        .into_iter()
        .find(|c| *c == text)
}

fn code_key(text: &str) -> Option<CodeKey> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| CodeKey::from_bytes(&bytes).ok())
}

fn scan_row(row: StoredRow) -> Option<ScanRow> {
    let class = class_of(&row.class)?;
    let key = match row.key {
        Some(text) => Some(code_key(&text)?),
        None => None,
    };
    let contents = row
        .contents
        .into_iter()
        .map(|g| {
            let parts = g
                .parts
                .into_iter()
                .map(|(code, class, texts)| {
                    Some(PartRow {
                        code,
                        class: class_of(&class)?,
                        text: String::new(),
                        texts,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            Some(PartGroup {
                carton: g.carton,
                heading: String::new(),
                headings: g.headings,
                parts,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let carton = match row.carton {
        Some(stored) => Some(CartonUndo {
            sscc: Sscc::parse(&stored.sscc).ok()?,
            events: stored
                .events
                .into_iter()
                .map(|(key, seq)| Some((code_key(&key)?, seq)))
                .collect::<Option<Vec<_>>>()?,
            until: Timestamp(stored.until),
        }),
        None => None,
    };
    let asked = match row.asked {
        Some((vin, step)) => {
            let vin = Vin::parse_confirmed(&vin).ok()?;
            let action = match step {
                Asked::Receive => Action::Receive,
                Asked::Install(into) => Action::Install {
                    vin: Vin::parse_confirmed(&into).ok()?,
                },
            };
            Some((vin, action))
        }
        None => None,
    };
    let label = match row.label {
        Some(path) => Some(DigitalLink::parse(&path).ok()?),
        None => None,
    };
    Some(ScanRow {
        id: row.id,
        ask: row.ask,
        recall: row.recall,
        key,
        undoable: row.undoable.map(|(seq, until)| (seq, Timestamp(until))),
        asked,
        label,
        contents,
        carton,
        ..ScanRow::plain(class, row.texts, row.code, row.at)
    })
}
