//! The manufacturer's working notes on its codes: what a colleague wrote when marking an alert
//! investigating, resolving it or recalling the part. The custody chain keeps only what changes a
//! part (a resolution's note is in its event); these notes sit beside it, append-only, so the
//! person who picks an investigation up can read why it is where it is.

use signer::Timestamp;
use signer::wire::{Reader, WireError, Writer};

use crate::error::{TextError, TextField};

const VERSION: u8 = 1;
/// Longest action word kept with a note.
pub(crate) const MAX_ACTION_LEN: usize = 32;

/// One note, with the dashboard action it was written for (`investigating`, `genuine`,
/// `counterfeit`, `recall`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertNote {
    pub at: Timestamp,
    pub action: String,
    pub note: String,
}

impl AlertNote {
    /// Checks the sizes: notes are at most as long as an event's text.
    pub fn validate(&self) -> Result<(), TextError> {
        TextField::NoteAction.check(&self.action)?;
        TextField::Note.check(&self.note)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION)
            .i64(self.at.0)
            .str8(&self.action)
            .str16(&self.note);
        w.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        r.version("note version", &[VERSION])?;
        let at = Timestamp(r.i64()?);
        let action = r.str8("action")?.to_owned();
        let note = r.str16("note")?.to_owned();
        r.finish()?;
        Ok(AlertNote { at, action, note })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::MAX_TEXT_LEN;

    #[test]
    fn a_note_round_trips_and_rejects_trailing_bytes() {
        let note = AlertNote {
            at: Timestamp(1_780_000_000),
            action: "investigating".into(),
            note: "两件：一件在广州 <b>".into(),
        };
        assert_eq!(AlertNote::decode(&note.encode()).unwrap(), note);
        let mut longer = note.encode();
        longer.push(0);
        assert!(AlertNote::decode(&longer).is_err());
        assert!(
            AlertNote {
                note: "x".repeat(MAX_TEXT_LEN + 1),
                ..note
            }
            .validate()
            .is_err()
        );
    }
}
