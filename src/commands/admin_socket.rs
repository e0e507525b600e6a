//! The running service's admin socket, so `partseal admin` works while `partseal serve` holds the
//! store: the command line sends its arguments to a Unix socket in the data directory, and the
//! service parses and runs them on its own registry (`admin::execute`) and sends back what the
//! command wrote and whether it succeeded.
//!
//! Who may connect is who may open the socket file: it is made 0600, so only the service's own
//! user (and root), the same people who could open the store's files, can. A token a command
//! issues travels back over the socket once and is never logged.
//!
//! One request a connection: a JSON line `{"argv": [...]}` (the arguments after the program name,
//! with file paths made absolute, since the service reads them from its own working directory),
//! answered by one JSON line `{"ok": .., "out": .., "err": ..}`. `{"address": true}` asks instead
//! where the service answers HTTP (its URL in `out`), so a command that finds the store held can
//! point at the service with the actual address.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use registry::Registry;
use serde::{Deserialize, Serialize};

use super::admin::{self, Console};
use super::{Cli, Command};

/// The socket's name in the data directory.
pub const SOCKET: &str = "admin.sock";
/// Longest request accepted (arguments only; files are read by path).
const MAX_REQUEST: u64 = 64 * 1024;
/// How long the command line waits for the service's answer.
const ANSWER_WAIT: Duration = Duration::from_secs(120);

#[derive(Serialize, Deserialize)]
struct Request {
    #[serde(default)]
    argv: Vec<String>,
    /// Instead of running a command: where does the service answer HTTP?
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    address: bool,
}

#[derive(Serialize, Deserialize)]
pub struct Answer {
    pub ok: bool,
    pub out: String,
    pub err: String,
}

/// Flags whose values are paths, made absolute before they are sent.
const PATH_FLAGS: [&str; 4] = ["--data", "--authority", "--cert", "--revoked"];

/// This process's arguments after the program name, with paths made absolute.
pub fn argv_for_server() -> anyhow::Result<Vec<String>> {
    let args = std::env::args_os()
        .skip(1)
        .map(|a| {
            a.into_string()
                .map_err(|a| anyhow::anyhow!("argument {a:?} is not UTF-8"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    absolute_paths(args)
}

fn absolute_paths(args: Vec<String>) -> anyhow::Result<Vec<String>> {
    let absolute = |p: &str| -> anyhow::Result<String> {
        Ok(std::path::absolute(p)
            .with_context(|| format!("cannot resolve the path {p}"))?
            .to_string_lossy()
            .into_owned())
    };
    let mut out = Vec::with_capacity(args.len());
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if let Some((flag, value)) = arg.split_once('=') {
            if PATH_FLAGS.contains(&flag) {
                out.push(format!("{flag}={}", absolute(value)?));
                continue;
            }
        }
        let path_follows = PATH_FLAGS.contains(&arg.as_str());
        out.push(arg);
        if path_follows {
            if let Some(value) = args.next() {
                out.push(absolute(&value)?);
            }
        }
    }
    Ok(out)
}

/// Hands `argv` to the service running on `dir`, if one is: `None` when no service listens there.
pub fn ask(dir: &Path, argv: &[String]) -> anyhow::Result<Option<Answer>> {
    send(
        dir,
        &Request {
            argv: argv.to_vec(),
            address: false,
        },
    )
}

/// The URL at which the service running on `dir` answers HTTP, if one runs there and says.
pub fn serving_url(dir: &Path) -> Option<String> {
    let answer = send(
        dir,
        &Request {
            argv: Vec::new(),
            address: true,
        },
    )
    .ok()??;
    answer.ok.then(|| answer.out.trim().to_owned())
}

fn send(dir: &Path, request: &Request) -> anyhow::Result<Option<Answer>> {
    let path = dir.join(SOCKET);
    let mut stream = match UnixStream::connect(&path) {
        Ok(stream) => stream,
        // No socket, or one a stopped service left behind.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "cannot reach the running service through {}",
                    path.display()
                )
            });
        }
    };
    stream.set_read_timeout(Some(ANSWER_WAIT))?;
    let mut line = serde_json::to_vec(request)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .context("the running service did not answer the admin command")?;
    let answer = serde_json::from_str(&answer)
        .context("the running service's answer to the admin command is not readable")?;
    Ok(Some(answer))
}

/// Listens on `dir`'s admin socket for as long as the returned guard lives, running each command
/// on `registry` and telling who asks that the service answers HTTP at `url`. Call it with the
/// store open, so no other service can be using the directory: a socket file already there is a
/// stopped service's and is replaced.
pub fn listen(dir: &Path, registry: Arc<Registry>, url: String) -> anyhow::Result<Listening> {
    let path = dir.join(SOCKET);
    // Bound under a private name, made 0600, then renamed into place: nobody can connect while
    // the socket still has the default permissions.
    let staging = dir.join(format!("{SOCKET}.{}", std::process::id()));
    let _ = std::fs::remove_file(&staging);
    let listener = std::os::unix::net::UnixListener::bind(&staging)
        .with_context(|| format!("cannot create the admin socket {}", staging.display()))?;
    std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&staging, &path)
        .with_context(|| format!("cannot create the admin socket {}", path.display()))?;
    let data = dir.canonicalize()?;
    std::thread::Builder::new()
        .name("admin-socket".into())
        .spawn(move || {
            for stream in listener.incoming() {
                match stream {
                    Ok(stream) => {
                        let (registry, data, url) = (registry.clone(), data.clone(), url.clone());
                        // One thread a command: commands are few, and a slow one must not hold
                        // up the next.
                        let _ = std::thread::Builder::new()
                            .name("admin-command".into())
                            .spawn(move || answer(stream, &registry, &data, &url));
                    }
                    Err(e) => tracing::warn!(error = %e, "admin socket: cannot accept"),
                }
            }
        })?;
    Ok(Listening { path })
}

/// Removes the socket file when the service stops.
pub struct Listening {
    path: PathBuf,
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn answer(stream: UnixStream, registry: &Registry, data: &Path, url: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut line = String::new();
    let read = BufReader::new((&stream).take(MAX_REQUEST)).read_line(&mut line);
    let answer = match read {
        Ok(_) => match serde_json::from_str::<Request>(&line) {
            Ok(request) if request.address => Answer {
                ok: true,
                out: format!("{url}\n"),
                err: String::new(),
            },
            Ok(request) => run(request.argv, registry, data),
            Err(e) => failed(format!("not an admin request: {e}")),
        },
        Err(e) => failed(format!("cannot read the admin request: {e}")),
    };
    if let Ok(mut bytes) = serde_json::to_vec(&answer) {
        bytes.push(b'\n');
        let _ = (&stream).write_all(&bytes);
    }
}

fn failed(why: String) -> Answer {
    Answer {
        ok: false,
        out: String::new(),
        err: format!("error: {why}\n"),
    }
}

fn run(argv: Vec<String>, registry: &Registry, data: &Path) -> Answer {
    let cli = match Cli::try_parse_from(std::iter::once("partseal".to_owned()).chain(argv)) {
        Ok(cli) => cli,
        Err(e) => return failed(e.to_string()),
    };
    let Command::Admin(cmd) = cli.command else {
        return failed("only `partseal admin` commands are taken here".into());
    };
    // The command names a data directory; it must be the one this service serves.
    match cmd.data_dir().map(Path::canonicalize) {
        Some(Ok(dir)) if dir == data => {}
        _ => {
            return failed(format!(
                "this service serves {}; run the command with --data {}",
                data.display(),
                data.display()
            ));
        }
    }
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let result = admin::execute(
        registry,
        cmd,
        &mut Console {
            out: &mut out,
            err: &mut err,
        },
    );
    if let Err(e) = &result {
        let _ = writeln!(err, "error: {e:#}");
    }
    Answer {
        ok: result.is_ok(),
        out: String::from_utf8_lossy(&out).into_owned(),
        err: String::from_utf8_lossy(&err).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_flags_are_made_absolute_in_both_forms_and_nothing_else() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cwd = std::env::current_dir().unwrap();
        let got = absolute_paths(args(&[
            "admin",
            "trust",
            "--data",
            "data",
            "--authority=ca/authority.pub",
            "--cert",
            "/abs/m.cert",
            "--name",
            "data",
        ]))
        .unwrap();
        assert_eq!(
            got,
            args(&[
                "admin",
                "trust",
                "--data",
                &cwd.join("data").to_string_lossy(),
                &format!("--authority={}", cwd.join("ca/authority.pub").display()),
                "--cert",
                "/abs/m.cert",
                "--name",
                "data",
            ])
        );
    }
}
