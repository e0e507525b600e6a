//! Sign-in for the shop station and the dashboard: the party's API token is typed once into the
//! sign-in form and checked like a bearer token; the browser then holds only a random session id
//! in a `Secure` (behind https), `HttpOnly`, `SameSite=Strict` cookie. Sessions live in memory on
//! the server, keyed by that id, with an expiry and a per-session CSRF token that every form
//! carries and every POST checks. A restart signs everyone out, which for a station is a re-scan
//! of one token, and keeps no session secret on disk.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use rand::RngCore;
use registry::{Action, CodeKey, Party, Registry, Vin};
use signer::Timestamp;

use super::Lang;
use crate::error::ApiError;

pub const COOKIE: &str = "partseal_session";
/// The sign-in form's own CSRF token, before there is a session: the form carries it and this
/// cookie does too (a `SameSite=Strict` cookie no other site's form can send).
pub const SIGNIN_COOKIE: &str = "partseal_signin";
/// A working day: a station signed in at opening stays signed in until closing.
pub const LIFETIME: Duration = Duration::from_secs(10 * 3600);
/// Sessions kept at once; the oldest go first past this.
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
        }
    }

    /// The row with its words in `lang`.
    pub fn shown_in(mut self, lang: Lang) -> Self {
        let [zh, en] = &self.texts;
        self.text = match lang {
            Lang::Zh => zh.clone(),
            Lang::En => en.clone(),
        };
        self
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

pub struct Session {
    pub party: Party,
    /// The id of the API token the session was opened with.
    token_id: String,
    pub csrf: String,
    pub lang: Lang,
    expires: Instant,
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
    /// Asked on every request whether the session's token and party are still in force.
    registry: Arc<Registry>,
    map: Mutex<HashMap<String, Session>>,
    /// Recent resolutions per manufacturer, newest first, for the dashboard's list.
    resolved: Mutex<HashMap<String, VecDeque<Resolved>>>,
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
            map: Mutex::default(),
            resolved: Mutex::default(),
        }
    }

    /// A new session for `party`, opened with the token `token_id`: its id (for the cookie only).
    pub fn create(&self, party: Party, token_id: String, lang: Lang) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut map = lock(&self.map);
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            id.clone(),
            Session {
                party,
                token_id,
                csrf: random_token(),
                lang,
                expires: now + LIFETIME,
                rows: VecDeque::new(),
                install_vin: None,
                confirm_vin: None,
                flash: None,
                next_row: 0,
            },
        );
        id
    }

    /// Runs `f` on the request's live session, if it has one. A session lives only as long as the
    /// token that opened it and its party: both are checked on every request, as the API checks a
    /// bearer token, so a revocation ends the session at once.
    pub fn with<T>(&self, headers: &HeaderMap, f: impl FnOnce(&mut Session) -> T) -> Option<T> {
        let id = cookie(headers)?;
        let (token_id, party) = {
            let mut map = lock(&self.map);
            let session = map.get(&id)?;
            if session.expires <= Instant::now() {
                map.remove(&id);
                return None;
            }
            (session.token_id.clone(), session.party.id.clone())
        };
        // Two store reads, outside the sessions' lock.
        let in_force = self
            .registry
            .token_in_force(&token_id, &party, Timestamp::now())
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot check a session's token; refusing the session");
                false
            });
        let mut map = lock(&self.map);
        if !in_force {
            map.remove(&id);
            return None;
        }
        map.get_mut(&id).map(f)
    }

    /// Runs `f` on the session only if `csrf` is its token; 403 otherwise (no session, or a
    /// form that did not come from one of its pages).
    pub fn checked<T>(
        &self,
        headers: &HeaderMap,
        csrf: &str,
        f: impl FnOnce(&mut Session) -> T,
    ) -> Result<T, ApiError> {
        self.with(headers, |s| {
            if same(s.csrf.as_bytes(), csrf.as_bytes()) {
                Ok(f(s))
            } else {
                Err(refused())
            }
        })
        .unwrap_or_else(|| Err(refused()))
    }

    pub fn end(&self, headers: &HeaderMap) {
        if let Some(id) = cookie(headers) {
            lock(&self.map).remove(&id);
        }
    }

    pub fn mark_resolved(&self, manufacturer: &str, resolved: Resolved) {
        let mut map = lock(&self.resolved);
        let list = map.entry(manufacturer.to_owned()).or_default();
        list.push_front(resolved);
        list.truncate(50);
    }

    pub fn resolved(&self, manufacturer: &str) -> Vec<Resolved> {
        lock(&self.resolved)
            .get(manufacturer)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }
}

fn refused() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "this form is not from a signed-in page: reload the page (or sign in again) and retry",
    )
}

/// Constant-time comparison: the CSRF token is a secret of the session.
fn same(a: &[u8], b: &[u8]) -> bool {
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
