//! Sign-in for the shop station and the dashboard: the party's API token is typed once into the
//! sign-in form and checked like a bearer token; the browser then holds only a random session id
//! in a `Secure` (behind https), `HttpOnly`, `SameSite=Strict` cookie. Sessions live in the
//! registry's store ([`registry::SessionRecord`], under a hash of that id), with an expiry, the
//! station's mode and a per-session CSRF token that every form carries and every POST checks, so
//! every replica of the service knows them and a sign-out through one ends the session in all.
//! The station's list of recent scans is the shop's, kept in the store too
//! ([`super::station_list`]), so it outlives a sign-in and follows the shop to another device; a
//! message for the next page stays in the memory of the replica that served it.
//!
//! A request reads its session from the store once, on the blocking pool ([`Sessions::load`], by
//! the extractors in [`super::signed_in`]), and works on it as a [`LiveSession`].

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use rand::RngCore;
use registry::{Action, CodeKey, Party, Registry, Role, SessionRecord, Vin};
use signer::{DigitalLink, Sscc, Timestamp};

use super::{Lang, station_list};
use crate::error::ApiError;

pub const COOKIE: &str = "partseal_session";
/// The sign-in form's own CSRF token, before there is a session: the form carries it and this
/// cookie does too (a `SameSite=Strict` cookie no other site's form can send).
pub const SIGNIN_COOKIE: &str = "partseal_signin";
/// A working day: a station signed in at opening stays signed in until closing.
pub const LIFETIME: Duration = Duration::from_secs(10 * 3600);
/// Sessions whose running lists a replica keeps at once; the least recently used go first.
pub const MAX_SESSIONS: usize = 10_000;
/// Scans a session remembers for its running list.
pub const MAX_ROWS: usize = 200;

/// One scan as the station's list shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ScanRow {
    /// The row's number in its session, which the row's buttons name.
    pub id: u64,
    /// ok, info, warning or danger: the row's colour; the text carries an icon and words too.
    pub class: &'static str,
    /// The words in the session's language, from `texts`.
    pub text: String,
    /// The words in Chinese and in English.
    #[serde(skip)]
    pub texts: [String; 2],
    pub code: String,
    pub at: String,
    /// Whether the row offers Undo now (worked out when the row is shown).
    pub undo: bool,
    /// A question the station asks before recording anything (a scan in the wrong mode).
    pub ask: bool,
    /// An install refused because the part is recalled, which the shop may still choose.
    pub recall: bool,
    /// The scanned code, for the row's buttons.
    #[serde(skip)]
    pub key: Option<CodeKey>,
    /// The event this shop recorded with the scan, which Undo corrects, and until when it may.
    #[serde(skip)]
    pub undoable: Option<(u32, Timestamp)>,
    /// For a question: the vehicle the shop recorded the part in, and what the scan would have
    /// recorded.
    #[serde(skip)]
    pub asked: Option<(Vin, Action)>,
    /// For a question: the label scanned, which the answer presents to the registry again.
    #[serde(skip)]
    pub label: Option<DigitalLink>,
    /// For a carton: the parts it holds, by the carton they are packed in, each with what the
    /// carton's receiving did to it.
    pub contents: Vec<PartGroup>,
    /// For a carton's receiving: what its Undo corrects, whole.
    #[serde(skip)]
    pub carton: Option<CartonUndo>,
}

/// The parts of one carton in a carton's row: the scanned carton's own, or those of a carton
/// inside it (a pallet's).
#[derive(Clone, Debug, serde::Serialize)]
pub struct PartGroup {
    /// The inner carton's number; `None` for the scanned carton's own parts.
    pub carton: Option<String>,
    /// The group's heading in the session's language (empty for the scanned carton's own).
    pub heading: String,
    #[serde(skip)]
    pub headings: [String; 2],
    pub parts: Vec<PartRow>,
}

/// One part in a carton's row.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PartRow {
    pub code: String,
    /// ok, warning or danger, as a row's.
    pub class: &'static str,
    /// What the carton's receiving did to the part, in the session's language.
    pub text: String,
    #[serde(skip)]
    pub texts: [String; 2],
}

/// A carton's receiving as the station recorded it: each code with the event its receiving got,
/// which the row's Undo corrects together, and until when it may.
#[derive(Clone, Debug)]
pub struct CartonUndo {
    pub sscc: Sscc,
    pub events: Vec<(CodeKey, u32)>,
    pub until: Timestamp,
}

impl ScanRow {
    /// A row with nothing to undo and nothing to ask.
    pub fn plain(class: &'static str, texts: [String; 2], code: String, at: String) -> Self {
        ScanRow {
            id: 0,
            class,
            text: String::new(),
            texts,
            code,
            at,
            undo: false,
            ask: false,
            recall: false,
            key: None,
            undoable: None,
            asked: None,
            label: None,
            contents: Vec::new(),
            carton: None,
        }
    }

    /// The row with its words in `lang`.
    pub fn shown_in(mut self, lang: Lang) -> Self {
        self.text = in_lang(&self.texts, lang);
        for group in &mut self.contents {
            group.heading = in_lang(&group.headings, lang);
            for part in &mut group.parts {
                part.text = in_lang(&part.texts, lang);
            }
        }
        self
    }

    /// Until when the row's Undo may be offered: its scan's event's, or its carton's.
    pub fn undo_until(&self) -> Option<Timestamp> {
        let carton = self.carton.as_ref().map(|c| c.until);
        self.undoable.map(|(_, until)| until).or(carton)
    }
}

fn in_lang([zh, en]: &[String; 2], lang: Lang) -> String {
    match lang {
        Lang::Zh => zh.clone(),
        Lang::En => en.clone(),
    }
}

/// One alert's place in the manufacturer's workflow, while it is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertState {
    New,
    Investigating,
}

/// An alert resolved from the dashboard: the code, how, and when.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub code: String,
    pub how: &'static str,
    pub at: String,
}

/// A session as [`LiveSession::with`] lends it: what the store and this replica keep of it.
pub struct Session {
    pub party: Party,
    pub csrf: String,
    pub lang: Lang,
    /// Newest first.
    pub rows: VecDeque<ScanRow>,
    /// Install mode: the vehicle the scanned parts go into. A VIN whose check digit does not
    /// verify is here only once the operator confirmed it against the registration certificate.
    pub install_vin: Option<Vin>,
    /// A VIN whose check digit does not verify, waiting for the operator's confirmation.
    pub confirm_vin: Option<Vin>,
    /// A message for the next page (e.g. a refused VIN).
    pub flash: Option<String>,
    /// The id the next row gets.
    next_row: u64,
}

impl Session {
    /// Puts `row` first in the list, numbered.
    pub fn push_row(&mut self, row: ScanRow) -> ScanRow {
        self.next_row += 1;
        let mut row = row.shown_in(self.lang);
        row.id = self.next_row;
        self.rows.push_front(row.clone());
        self.rows.truncate(MAX_ROWS);
        row
    }

    pub fn row_mut(&mut self, id: u64) -> Option<&mut ScanRow> {
        self.rows.iter_mut().find(|r| r.id == id)
    }
}

/// The server's sessions.
pub struct Sessions {
    /// Holds the sessions, and is asked on every request whether a session's token and party are
    /// still in force.
    registry: Arc<Registry>,
    /// What each session shows on this replica only, by session id.
    local: Mutex<HashMap<String, Local>>,
    /// Recent resolutions per manufacturer, newest first, for the dashboard's list.
    resolved: Mutex<HashMap<String, VecDeque<Resolved>>>,
}

/// A session's running list and next message, on this replica.
struct Local {
    rows: VecDeque<ScanRow>,
    next_row: u64,
    flash: Option<String>,
    used: Instant,
}

impl Default for Local {
    fn default() -> Self {
        Local {
            rows: VecDeque::new(),
            next_row: 0,
            flash: None,
            used: Instant::now(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Sessions {
    pub fn new(registry: Arc<Registry>) -> Self {
        Sessions {
            registry,
            local: Mutex::default(),
            resolved: Mutex::default(),
        }
    }

    /// [`Sessions::open`]'s blocking work.
    fn create(&self, party: Party, token_id: String, lang: Lang) -> Result<String, ApiError> {
        let id = random_token();
        let now = Timestamp::now();
        // Sessions end by themselves; their records go as others sign in.
        if let Err(e) = self.registry.remove_expired_sessions(now) {
            tracing::warn!(error = %e, "cannot remove expired sessions");
        }
        let record = SessionRecord {
            party: party.id,
            token_id,
            csrf: random_token(),
            lang: lang.code().to_owned(),
            expires_at: Timestamp(now.0 + LIFETIME.as_secs() as i64),
            install_vin: None,
            confirm_vin: None,
        };
        self.registry.put_session(&id, &record)?;
        let mut local = lock(&self.local);
        if local.len() >= MAX_SESSIONS {
            let stale = Instant::now() - LIFETIME;
            local.retain(|_, l| l.used > stale);
            if let Some(oldest) = local
                .iter()
                .min_by_key(|(_, l)| l.used)
                .map(|(k, _)| k.clone())
            {
                local.remove(&oldest);
            }
        }
        local.insert(id.clone(), Local::default());
        Ok(id)
    }

    /// Ends the session everywhere and forgets what this replica kept of it.
    fn forget(&self, id: &str) {
        lock(&self.local).remove(id);
        if let Err(e) = self.registry.end_session(id) {
            tracing::error!(error = %e, "cannot end a session in the store");
        }
    }

    /// A new session for `party`, opened with the token `token_id`: its id, for the cookie only.
    /// The store is written on the blocking pool.
    pub async fn open(
        self: &Arc<Self>,
        party: Party,
        token_id: String,
        lang: Lang,
    ) -> Result<String, ApiError> {
        let sessions = self.clone();
        blocking(move || sessions.create(party, token_id, lang)).await?
    }

    /// The live session the request's cookie names, if it has one, read from the store on the
    /// blocking pool when awaited. A session lives only as long as the token that opened it and
    /// its party: both are checked on every request, as the API checks a bearer token, so a
    /// revocation ends the session at once, in every replica. The future holds the cookie, not
    /// `headers`, so a form's body can be read before it is awaited.
    pub fn load(
        self: &Arc<Self>,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Option<LiveSession>, ApiError>> + Send + 'static {
        let id = cookie(headers);
        let sessions = self.clone();
        async move {
            let Some(id) = id else {
                return Ok(None);
            };
            blocking(move || sessions.load_blocking(id)).await
        }
    }

    fn load_blocking(self: Arc<Self>, id: String) -> Option<LiveSession> {
        let record = match self.registry.session(&id) {
            Ok(Some(record)) => record,
            Ok(None) => {
                lock(&self.local).remove(&id);
                return None;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read a session; refusing it");
                return None;
            }
        };
        let now = Timestamp::now();
        let in_force = record.expires_at > now
            && self
                .registry
                .token_in_force(&record.token_id, &record.party, now)
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "cannot check a session's token; refusing the session");
                    false
                });
        if !in_force {
            self.forget(&id);
            return None;
        }
        let party = match self.registry.party(&record.party) {
            Ok(Some(party)) => party,
            _ => return None,
        };
        lock(&self.local).entry(id.clone()).or_default().used = Instant::now();
        Some(LiveSession {
            sessions: self,
            id,
            record,
            party,
        })
    }

    fn mark_resolved(&self, manufacturer: &str, resolved: Resolved) {
        let mut map = lock(&self.resolved);
        let list = map.entry(manufacturer.to_owned()).or_default();
        list.push_front(resolved);
        list.truncate(50);
    }

    fn resolved(&self, manufacturer: &str) -> Vec<Resolved> {
        lock(&self.resolved)
            .get(manufacturer)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// A request's session as [`Sessions::load`] read it: who it is, its CSRF token, and what the
/// store keeps of its mode and language. What this replica keeps of it (the running list, the
/// next page's message) is reached through [`LiveSession::with`].
pub struct LiveSession {
    sessions: Arc<Sessions>,
    /// The cookie's value: a secret, never logged.
    id: String,
    /// As the store holds it.
    record: SessionRecord,
    party: Party,
}

impl LiveSession {
    pub fn party(&self) -> &Party {
        &self.party
    }

    pub fn csrf(&self) -> &str {
        &self.record.csrf
    }

    pub fn lang(&self) -> Lang {
        Lang::choose(Some(&self.record.lang), &HeaderMap::new())
    }

    /// The vehicle the station installs into, in install mode.
    pub fn install_vin(&self) -> Option<Vin> {
        self.record.install_vin
    }

    /// Runs `f` on the session with what this replica keeps of it and, for a station, the shop's
    /// list of recent scans from the store. A changed mode, language or list is written to the
    /// store (on the blocking pool) for whichever sign-in, device or replica comes next.
    pub async fn with<T>(&mut self, f: impl FnOnce(&mut Session) -> T) -> T {
        let kept = self.station_list().await;
        let (out, changed, list) = {
            let mut local = lock(&self.sessions.local);
            let local = local.entry(self.id.clone()).or_default();
            let (rows, next_row) = match &kept {
                Some(Ok(Some((rows, next_row)))) => (rows.iter().cloned().collect(), *next_row),
                Some(_) => (VecDeque::new(), 0),
                None => (std::mem::take(&mut local.rows), local.next_row),
            };
            let mut session = Session {
                party: self.party.clone(),
                csrf: self.record.csrf.clone(),
                lang: self.lang(),
                rows,
                install_vin: self.record.install_vin,
                confirm_vin: self.record.confirm_vin,
                flash: local.flash.take(),
                next_row,
            };
            let out = f(&mut session);
            local.flash = session.flash;
            local.used = Instant::now();
            // The list goes back to the store if it changed, and only if it was read: a list the
            // store could not give is not written over with an empty one.
            let list = match &kept {
                Some(Ok(before)) => {
                    let rows: Vec<ScanRow> = session.rows.iter().cloned().collect();
                    let after = station_list::encode(&rows, session.next_row);
                    let before = before
                        .as_ref()
                        .map(|(rows, n)| station_list::encode(rows, *n));
                    (before.as_ref() != Some(&after)).then_some(after)
                }
                Some(Err(())) => None,
                None => {
                    local.rows = session.rows;
                    local.next_row = session.next_row;
                    None
                }
            };
            let changed = SessionRecord {
                lang: session.lang.code().to_owned(),
                install_vin: session.install_vin,
                confirm_vin: session.confirm_vin,
                ..self.record.clone()
            };
            (out, changed, list)
        };
        if let Some(list) = list {
            let registry = self.sessions.registry.clone();
            let party = self.party.id.clone();
            if let Ok(Err(e)) = blocking(move || registry.put_station_list(&party, &list)).await {
                tracing::error!(error = %e, "cannot keep a station's list of scans");
            }
        }
        // The station's mode and language, for whichever replica serves the next request.
        if changed != self.record {
            let registry = self.sessions.registry.clone();
            let (id, kept) = (self.id.clone(), changed.clone());
            // (A task that failed to run is logged as it fails.)
            if let Ok(Err(e)) = blocking(move || registry.put_session(&id, &kept)).await {
                tracing::error!(error = %e, "cannot keep a session's mode");
            }
            self.record = changed;
        }
        out
    }

    /// The shop's list of recent scans as the store keeps it, for a station's party (`None` for
    /// a manufacturer, who has no station): `Ok(None)` for a shop with no list yet, `Err` when
    /// the store cannot give it (logged; the station then shows an empty list and keeps it).
    async fn station_list(&self) -> Option<Result<Option<(Vec<ScanRow>, u64)>, ()>> {
        if self.party.role == Role::Manufacturer {
            return None;
        }
        let registry = self.sessions.registry.clone();
        let party = self.party.id.clone();
        let read = blocking(move || registry.station_list(&party)).await;
        Some(match read {
            Ok(Ok(bytes)) => Ok(bytes.and_then(|b| station_list::decode(&b))),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot read a station's list of scans");
                Err(())
            }
            Err(_) => Err(()),
        })
    }

    /// Ends the session everywhere (sign-out), the store written on the blocking pool.
    pub async fn end(self) -> Result<(), ApiError> {
        let LiveSession { sessions, id, .. } = self;
        blocking(move || sessions.forget(&id)).await
    }

    /// Keeps an alert the session's manufacturer resolved, for the dashboard's list here.
    pub fn mark_resolved(&self, resolved: Resolved) {
        self.sessions
            .mark_resolved(self.party.id.as_str(), resolved);
    }

    /// The alerts the session's manufacturer resolved lately, newest first.
    pub fn resolved(&self) -> Vec<Resolved> {
        self.sessions.resolved(self.party.id.as_str())
    }
}

/// Runs the sessions' store work on tokio's blocking pool, as `AppState::blocking` runs the
/// registry's: the store may wait on the disk or the database.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(&e))
}

/// The `403 csrf` answer to a form that did not come from one of the session's pages (or came
/// with no live session).
pub(crate) fn refused() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "this form is not from a signed-in page: reload the page (or sign in again) and retry",
    )
}

/// Constant-time comparison: the CSRF token is a secret of the session.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session id from the request's cookies.
fn cookie(headers: &HeaderMap) -> Option<String> {
    named_cookie(headers, COOKIE)
}

/// Whether `csrf` is the sign-in token the browser holds in its cookie.
pub fn sign_in_csrf_ok(headers: &HeaderMap, csrf: &str) -> bool {
    named_cookie(headers, SIGNIN_COOKIE).is_some_and(|c| same(c.as_bytes(), csrf.as_bytes()))
}

/// The `Set-Cookie` value carrying the sign-in form's CSRF token.
pub fn sign_in_cookie(token: &str, secure: bool) -> String {
    format!(
        "{SIGNIN_COOKIE}={token}; Path=/signin; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        if secure { "; Secure" } else { "" }
    )
}

fn named_cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `Set-Cookie` value for a new session; `Secure` when the service is reached over https.
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        LIFETIME.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_parsed_strictly() {
        let id = random_token();
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("a=b; {COOKIE}={id}").parse().unwrap(),
        );
        assert_eq!(cookie(&h), Some(id));
        h.insert(header::COOKIE, format!("{COOKIE}=short").parse().unwrap());
        assert_eq!(cookie(&h), None);
        assert!(set_cookie("x", true).contains("; Secure"));
        assert!(!set_cookie("x", false).contains("Secure"));
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"ab", b"abc"));
    }
}
