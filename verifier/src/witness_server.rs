//! A witness of transparency logs over HTTP (c2sp.org/tlog-witness): what `partseal witness` runs.
//! The rules (what it cosigns) are `tlog::witness`'s; here is the state it keeps and the routes.
//!
//! The state is the latest checkpoint it cosigned per log, in one file of its directory. A request
//! is decided and the new state written durably (a temporary file written and synced, renamed
//! over the old one, the directory synced) under one lock, *before* the cosignature is answered:
//! a witness killed at any moment and started again knows at least every tree it ever cosigned,
//! so it can never be made to cosign a fork of one. An exclusive lock on the directory keeps a
//! second witness process from deciding on the same state with another memory of it.
//!
//! | route | answer |
//! |---|---|
//! | `POST /add-checkpoint` | tlog-witness's: 200 with the cosignature line, 400, 403, 404, 409 (`text/x.tlog.size`), 422 |
//! | `GET /{sha256(origin) hex}/checkpoint` | the latest checkpoint it cosigned for that log, with its cosignature (the spec's monitor retrieval) |

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use tlog::LogVerifier;
use tlog::witness::{AddCheckpoint, Refusal, Witness, WitnessedTree};

/// The state file in the witness's directory.
const STATE_FILE: &str = "witness-state.json";
const LOCK_FILE: &str = "witness.lock";
/// A checkpoint, its signatures and 63 proof lines fit in a few kilobytes.
const BODY_LIMIT: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("witness state {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("witness state {path}: another witness process holds it")]
    Held { path: PathBuf },
    #[error("witness state {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("two --log keys for the origin `{0}`: a witness knows one key per log")]
    DuplicateOrigin(String),
}

/// What the witness remembers of one log, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Remembered {
    size: u64,
    /// The root hash, base64.
    root: String,
    /// The checkpoint as the log signed it, with this witness's cosignature.
    checkpoint: String,
}

/// The witness: its key, the logs it witnesses, and its state on disk.
pub struct WitnessService {
    witness: Witness,
    logs: HashMap<String, LogVerifier>,
    dir: PathBuf,
    /// Held for as long as the service lives: the directory's exclusive lock.
    _lock: File,
    /// Per origin. The lock is held from reading a log's tree to writing its new one.
    state: Mutex<BTreeMap<String, Remembered>>,
}

/// What an `add-checkpoint` request came to.
#[derive(Debug)]
pub enum Answer {
    /// The cosignature line(s) to answer with.
    Cosigned(String),
    Refused(Refusal),
}

impl WitnessService {
    /// Opens (creating) the state in `dir`, for `witness` witnessing `logs`.
    pub fn open(
        dir: &Path,
        witness: Witness,
        logs: Vec<LogVerifier>,
    ) -> Result<Self, WitnessError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| WitnessError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive)
            .map_err(|_| WitnessError::Held { path: dir.into() })?;
        let mut by_origin = HashMap::new();
        for log in logs {
            let origin = log.origin().to_owned();
            if by_origin.insert(origin.clone(), log).is_some() {
                return Err(WitnessError::DuplicateOrigin(origin));
            }
        }
        let path = dir.join(STATE_FILE);
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| WitnessError::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(io(&path)(e)),
        };
        Ok(WitnessService {
            witness,
            logs: by_origin,
            dir: dir.to_owned(),
            _lock: lock,
            state: Mutex::new(state),
        })
    }

    /// Decides an `add-checkpoint` request at `now_secs` (POSIX seconds, never 0), writing the new
    /// state durably before it returns a cosignature. Blocking (it syncs files).
    pub fn add_checkpoint(&self, body: &str, now_secs: u64) -> Result<Answer, WitnessError> {
        let request = match AddCheckpoint::parse(body) {
            Ok(request) => request,
            Err(refusal) => return Ok(Answer::Refused(refusal)),
        };
        let origin = request.origin().to_owned();
        let Some(log) = self.logs.get(&origin) else {
            return Ok(Answer::Refused(Refusal::UnknownOrigin(origin)));
        };
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let known = match state.get(&origin) {
            Some(r) => Some(self.tree_of(&origin, r)?),
            None => None,
        };
        let (tree, line) = match self.witness.add_checkpoint(log, known, &request, now_secs) {
            Ok(cosigned) => cosigned,
            Err(refusal) => return Ok(Answer::Refused(refusal)),
        };
        let mut next = state.clone();
        next.insert(
            origin,
            Remembered {
                size: tree.size,
                root: BASE64.encode(tree.root.0),
                checkpoint: format!("{}{line}", request.checkpoint),
            },
        );
        self.persist(&next)?;
        *state = next;
        Ok(Answer::Cosigned(line))
    }

    /// The latest checkpoint cosigned for the log whose origin hashes to `origin_hash` (hex).
    pub fn checkpoint(&self, origin_hash: &str) -> Option<String> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state
            .iter()
            .find(|(origin, _)| tlog::witness::origin_hash(origin) == origin_hash)
            .map(|(_, r)| r.checkpoint.clone())
    }

    fn tree_of(&self, origin: &str, r: &Remembered) -> Result<WitnessedTree, WitnessError> {
        let root = BASE64
            .decode(&r.root)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| WitnessError::Corrupt {
                path: self.dir.join(STATE_FILE),
                reason: format!("the root of `{origin}` is not a base64 hash"),
            })?;
        Ok(WitnessedTree {
            size: r.size,
            root: tlog::Hash(root),
        })
    }

    /// Writes the whole state: a temporary file, synced, renamed over the old one, the directory
    /// synced, so a crash leaves the old state or the new one, and the new one survives.
    fn persist(&self, state: &BTreeMap<String, Remembered>) -> Result<(), WitnessError> {
        let path = self.dir.join(STATE_FILE);
        let tmp = self.dir.join(format!("{STATE_FILE}.tmp"));
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| WitnessError::Io { path, source }
        };
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| WitnessError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let mut file = File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(&bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))
    }
}

/// The witness's routes, with `clock` giving the time of each cosignature (POSIX seconds).
pub fn router(service: Arc<WitnessService>, clock: fn() -> u64) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{origin_hash}/checkpoint", get(checkpoint))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state((service, clock))
}

type WitnessState = (Arc<WitnessService>, fn() -> u64);

async fn add_checkpoint(State((service, clock)): State<WitnessState>, body: Bytes) -> Response {
    let Ok(body) = String::from_utf8(body.to_vec()) else {
        return text(
            StatusCode::BAD_REQUEST,
            "malformed request: not UTF-8\n".into(),
        );
    };
    let answer = tokio::task::spawn_blocking(move || service.add_checkpoint(&body, clock())).await;
    match answer {
        Ok(Ok(Answer::Cosigned(line))) => text(StatusCode::OK, line),
        Ok(Ok(Answer::Refused(Refusal::Conflict { known }))) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{known}\n"),
        )
            .into_response(),
        Ok(Ok(Answer::Refused(refusal))) => {
            if refusal == Refusal::NotConsistent {
                // Possibly proof of a log's misbehaviour: worth an operator's look.
                tracing::warn!("refused an inconsistent checkpoint (a fork?)");
            } else {
                tracing::info!(status = refusal.status(), %refusal, "refused a checkpoint");
            }
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
            text(status, format!("{refusal}\n"))
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot keep the witness's state: nothing cosigned");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the witness cannot keep its state\n".into(),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "the witness's worker failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
        }
    }
}

async fn checkpoint(
    State((service, _)): State<WitnessState>,
    UrlPath(origin_hash): UrlPath<String>,
) -> Response {
    match service.checkpoint(&origin_hash) {
        Some(note) => text(StatusCode::OK, note),
        None => text(
            StatusCode::NOT_FOUND,
            "this witness has cosigned no checkpoint of that log\n".into(),
        ),
    }
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}
