//! `partseal log monitor URL --log-key KEY`: follows a log's checkpoints from outside, as anyone
//! may. Each checkpoint's signature (and the named witnesses' cosignatures) is checked, the tree is
//! rebuilt from the tiles (`tlog::walk`) from the last verified tree to the new one, and the last
//! verified tree is remembered in `--state`, so a restart continues and a log that shrank or whose
//! history was rewritten since is caught.
//!
//! Exit codes: 1 when the log differs from what it signed or signed before (the message says which
//! checkpoint, tile and entries), 2 when it could not be checked (unreachable, bad arguments).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::Args;
use serde::{Deserialize, Serialize};
use tlog::tile::TilePath;
use tlog::walk::{self, Difference, Frontier, TileSource};
use tlog::witness::CosignatureVerifier;
use tlog::{Hash, LogVerifier, SignedCheckpoint};

use super::log_codes::MakerCheck;
use super::progress;

/// Bytes of the largest answer read: a full entries tile is 256 × 67 bytes, a checkpoint with
/// cosignatures a few hundred.
const MAX_BODY: usize = 1 << 20;

#[derive(Args)]
pub struct MonitorArgs {
    /// The service's base URL (`http://host:port`); the log is under `/log/`.
    #[arg(value_name = "URL")]
    url: String,
    /// The log's note verifier key (`/log/key`, `partseal log key`), obtained out of band.
    #[arg(long, value_name = "KEY")]
    log_key: String,
    /// A witness whose cosignature every checkpoint must carry (`partseal witness key`); repeat
    /// for several.
    #[arg(long = "witness", value_name = "KEY")]
    witnesses: Vec<String>,
    /// Where the last verified tree is kept between runs (written atomically).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Check up to the current checkpoint and exit.
    #[arg(long)]
    once: bool,
    /// Seconds between checkpoints when following.
    #[arg(long, value_name = "S", default_value_t = 10)]
    interval: u64,
    /// The maker's check: its signed batch file (`partseal sign`'s JSON Lines); each code's
    /// history in the service is compared with the log's entries about it. Walks the whole log
    /// each round.
    #[arg(long, value_name = "FILE", requires = "token")]
    codes: Option<PathBuf>,
    /// The maker's API token, in a file (for `--codes`).
    #[arg(long, value_name = "FILE", requires = "codes")]
    token: Option<PathBuf>,
}

/// What `--state` holds: the last verified checkpoint and its tree's frontier.
#[derive(Serialize, Deserialize)]
struct State {
    log_key: String,
    size: u64,
    /// The frontier's hashes (base64), largest subtree first.
    frontier: Vec<String>,
    /// The checkpoint as it was served (the signed note).
    checkpoint: String,
}

/// Why a round did not verify a checkpoint.
enum Failure {
    /// The log differs from what it signed, or from what it signed before.
    Differs(String),
    /// It could not be checked this time (unreachable, a witness's cosignature not there yet).
    Unchecked(String),
}

pub fn run(args: MonitorArgs) -> anyhow::Result<ExitCode> {
    let log = LogVerifier::parse(args.log_key.trim()).context("--log-key")?;
    let witnesses = args
        .witnesses
        .iter()
        .map(|k| CosignatureVerifier::parse(k.trim()).context("--witness"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let base = args.url.trim_end_matches('/').to_owned();
    if !base.starts_with("http://") {
        // The workspace's HTTP client is built without TLS (the service's own outgoing requests,
        // to witnesses, are plain HTTP too): say so rather than fail on the first request.
        bail!(
            "{base}: the monitor reads http:// URLs only (no TLS in this build); reach an https service through a local TLS-terminating proxy"
        );
    }
    let mut frontier = match &args.state {
        Some(path) => load_state(path, &log)?,
        None => Frontier::new(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the HTTP client")?;
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot start the HTTP client")?;
    let token = match &args.token {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the token {}", path.display()))?
                .trim()
                .to_owned(),
        ),
        None => None,
    };
    let mut http = Http {
        runtime,
        client,
        base,
        token,
    };
    let mut maker = args.codes.as_deref().map(MakerCheck::load).transpose()?;
    loop {
        // The histories first: every event they show was acknowledged before the checkpoint
        // fetched next, so it is in it (or in the pool, a second from it).
        let histories = match &mut maker {
            Some(maker) => maker
                .fetch_histories(&mut |path| http.get_with_status(path, true))
                .map_err(Failure::Unchecked),
            None => Ok(()),
        };
        let checked = histories
            .and_then(|()| round(&mut http, &log, &witnesses, &mut frontier))
            .and_then(|checkpoint| match &mut maker {
                Some(maker) => check_codes(&mut http, &checkpoint, maker).map(|()| checkpoint),
                None => Ok(checkpoint),
            });
        match checked {
            Ok(checkpoint) => {
                if let Some(path) = &args.state {
                    save_state(path, &log, &frontier, &checkpoint)?;
                }
                println!(
                    "checkpoint of {} entries verified: {}",
                    checkpoint.size,
                    BASE64.encode(checkpoint.root.0)
                );
            }
            Err(Failure::Differs(message)) => {
                eprintln!("log monitor: {}: {message}", log.origin());
                return Ok(ExitCode::from(1));
            }
            Err(Failure::Unchecked(message)) if args.once => {
                eprintln!("log monitor: {}: {message}", log.origin());
                return Ok(ExitCode::from(2));
            }
            Err(Failure::Unchecked(message)) => {
                tracing::warn!(log = log.origin(), "{message}; trying again");
            }
        }
        if args.once {
            return Ok(ExitCode::SUCCESS);
        }
        let _ = std::io::stdout().flush();
        std::thread::sleep(Duration::from_secs(args.interval.max(1)));
    }
}

/// One checkpoint: fetched, its signatures checked, the tree extended to it from the tiles.
fn round(
    http: &mut Http,
    log: &LogVerifier,
    witnesses: &[CosignatureVerifier],
    frontier: &mut Frontier,
) -> Result<SignedCheckpoint, Failure> {
    let note = http
        .get("/log/checkpoint")
        .map_err(|e| Failure::Unchecked(format!("/log/checkpoint: {e}")))?;
    let note = String::from_utf8(note)
        .map_err(|_| Failure::Differs("/log/checkpoint: not UTF-8 text".into()))?;
    let checkpoint = log
        .open_checkpoint(&note)
        .map_err(|e| Failure::Differs(format!("/log/checkpoint: {e}")))?;
    let at = format!("the checkpoint of {} entries", checkpoint.size);
    for witness in witnesses {
        witness.cosigned(&note).map_err(|_| {
            Failure::Unchecked(format!(
                "{at} carries no valid cosignature of the witness {}",
                witness.name()
            ))
        })?;
    }
    let known = frontier.clone();
    let total = checkpoint.size.saturating_sub(known.size());
    let bar = progress::bar(Some(total), "rebuilding the tree from the tiles");
    let mut walked = |n: u64| bar.set_position(n.saturating_sub(known.size()));
    let mut result = walk::extend(
        frontier,
        checkpoint.size,
        checkpoint.root,
        http,
        &mut walked,
    );
    if matches!(result, Err(Difference::Root { .. })) && known.size() > 0 {
        // From the saved tree the new root does not follow: walk from the first entry to say
        // whether (and where) the entries verified before were rewritten.
        bar.set_length(checkpoint.size);
        bar.set_position(0);
        result = Err(walk::locate(
            &known,
            checkpoint.size,
            checkpoint.root,
            http,
            &mut |n| bar.set_position(n),
        ));
    }
    bar.finish_and_clear();
    match result {
        Ok(()) => Ok(checkpoint),
        Err(Difference::Fetch { tile, reason }) => {
            *frontier = known;
            Err(Failure::Unchecked(format!("{at}: {tile}: {reason}")))
        }
        Err(difference) => Err(Failure::Differs(format!("{at}: {difference}"))),
    }
}

/// The maker's check on a verified checkpoint: the whole log walked again from its first entry
/// (the tags may be anywhere in it), each code's entries compared with its history.
fn check_codes(
    http: &mut Http,
    checkpoint: &SignedCheckpoint,
    maker: &mut MakerCheck,
) -> Result<(), Failure> {
    let bar = progress::bar(Some(checkpoint.size), "looking for the codes' entries");
    let walked = walk::extend_seeing(
        &mut Frontier::new(),
        checkpoint.size,
        checkpoint.root,
        http,
        &mut |n| bar.set_position(n),
        &mut |index, entry| maker.seen(index, entry),
    );
    bar.finish_and_clear();
    let at = format!("the checkpoint of {} entries", checkpoint.size);
    match walked {
        Ok(()) => {}
        Err(Difference::Fetch { tile, reason }) => {
            return Err(Failure::Unchecked(format!("{at}: {tile}: {reason}")));
        }
        Err(difference) => return Err(Failure::Differs(format!("{at}: {difference}"))),
    }
    let (lines, differs) = maker.report();
    for line in &lines {
        println!("{line}");
    }
    if differs {
        return Err(Failure::Differs(format!(
            "{at}: the service's histories of the maker's codes and the log differ (above)"
        )));
    }
    Ok(())
}

/// The service over HTTP, read synchronously by the walk.
struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
    /// The maker's API token (`--token`).
    token: Option<String>,
}

impl Http {
    /// A public path's body; anything but success is an error.
    fn get(&mut self, path: &str) -> Result<Vec<u8>, String> {
        match self.get_with_status(path, false)? {
            (200..=299, body) => Ok(body),
            (status, _) => Err(format!("GET {}{path}: {status}", self.base)),
        }
    }

    /// A path's status and body, with the maker's token if `authorized`.
    fn get_with_status(&mut self, path: &str, authorized: bool) -> Result<(u16, Vec<u8>), String> {
        let url = format!("{}{path}", self.base);
        let mut request = self.client.get(&url);
        if let (true, Some(token)) = (authorized, &self.token) {
            request = request.bearer_auth(token);
        }
        self.runtime.block_on(async {
            let mut response = request
                .send()
                .await
                .map_err(|e| format!("GET {url}: {e}"))?;
            let status = response.status().as_u16();
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| format!("GET {url}: {e}"))?
            {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(format!("GET {url}: an answer beyond {MAX_BODY} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok((status, body))
        })
    }
}

impl TileSource for Http {
    fn fetch(&mut self, tile: &TilePath) -> Result<Vec<u8>, String> {
        self.get(&format!("/log/{}", tile.path()))
    }
}

/// The saved tree, or the empty tree when the file does not exist yet.
fn load_state(path: &Path, log: &LogVerifier) -> anyhow::Result<Frontier> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Frontier::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let state: State = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a log monitor's state", path.display()))?;
    if state.log_key != log.to_key_string() {
        bail!(
            "{}: the state of the log {}, not of {}",
            path.display(),
            state.log_key,
            log.to_key_string()
        );
    }
    // The saved checkpoint is checked again, so an edited state file is refused, not trusted.
    let checkpoint = log
        .open_checkpoint(&state.checkpoint)
        .with_context(|| format!("{}: its checkpoint", path.display()))?;
    let nodes = state
        .frontier
        .iter()
        .map(|h| {
            let bytes = BASE64.decode(h).ok()?;
            Some(Hash(bytes.try_into().ok()?))
        })
        .collect::<Option<Vec<_>>>();
    let frontier = nodes
        .and_then(|nodes| Frontier::from_parts(state.size, nodes))
        .filter(|f| f.size() == checkpoint.size && f.root() == checkpoint.root);
    frontier.with_context(|| {
        format!(
            "{}: its tree is not the one its checkpoint signs",
            path.display()
        )
    })
}

/// Writes the state through a synced temporary file renamed over the old one, then syncs the
/// directory: a crash leaves the old state or the new one.
fn save_state(
    path: &Path,
    log: &LogVerifier,
    frontier: &Frontier,
    checkpoint: &SignedCheckpoint,
) -> anyhow::Result<()> {
    let state = State {
        log_key: log.to_key_string(),
        size: frontier.size(),
        frontier: frontier
            .nodes()
            .iter()
            .map(|h| BASE64.encode(h.0))
            .collect(),
        checkpoint: checkpoint.note.clone(),
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let write = || -> std::io::Result<()> {
        let mut tmp = tempfile::Builder::new()
            .prefix(".log-monitor-state.")
            .tempfile_in(dir)?;
        serde_json::to_writer_pretty(&mut tmp, &state)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        std::fs::File::open(dir)?.sync_all()
    };
    write().with_context(|| format!("cannot write the state {}", path.display()))
}
