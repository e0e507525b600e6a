//! Ctrl-C (SIGINT), SIGTERM and SIGHUP while a command writes its output through a temporary file
//! or directory: the temporary is removed, the command says so and exits 128 + the signal's number
//! (130 for Ctrl-C).
//!
//! By default these signals end the process at once, destructors unrun, so an interrupted
//! `sign --count 3000000` left a hidden temporary file of valid signed codes lying in the working
//! directory. [`remove_on_signal`] registers a temporary and starts, once per process, a thread that
//! waits for the signals; [`commit`] moves the finished output into place under the same lock, so a
//! signal either removes the temporary or comes after the output is complete, never in between.
//!
//! Once the handler is installed the signals no longer end the process by themselves, so a signal
//! that finds no temporary pending is left alone: `serve --demo`, which writes its demo files through
//! here, shuts down on SIGTERM and Ctrl-C by its own handler, and a command past its commit is
//! about to end anyway.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// A temporary file or directory the signal handler removes.
struct Pending {
    id: u64,
    temporary: PathBuf,
    /// What it would have become, for the message.
    target: PathBuf,
}

struct Registry {
    next_id: u64,
    pending: Vec<Pending>,
}

static PENDING: Mutex<Registry> = Mutex::new(Registry {
    next_id: 0,
    pending: Vec::new(),
});

/// The registry, even if a thread panicked while holding it (the list stays usable).
fn pending() -> MutexGuard<'static, Registry> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// A registered temporary; dropping it (the write failed and the temporary was removed) forgets it.
#[must_use]
pub struct Registered(u64);

impl Drop for Registered {
    fn drop(&mut self) {
        pending().pending.retain(|p| p.id != self.0);
    }
}

/// Removes `temporary` (a file, or a directory and all it holds) if the process is interrupted
/// before [`commit`]; `target` is the output it is written for.
pub fn remove_on_signal(temporary: &Path, target: &Path) -> Registered {
    static HANDLER: Once = Once::new();
    HANDLER.call_once(start_handler);
    let mut registry = pending();
    registry.next_id += 1;
    let id = registry.next_id;
    registry.pending.push(Pending {
        id,
        temporary: temporary.to_owned(),
        target: target.to_owned(),
    });
    Registered(id)
}

/// Moves the finished output into place (`publish`) while no signal can remove it, then forgets
/// the temporary.
pub fn commit<T>(registered: Registered, publish: impl FnOnce() -> T) -> T {
    let mut registry = pending();
    let value = publish();
    registry.pending.retain(|p| p.id != registered.0);
    drop(registry);
    // Already forgotten; dropping it would only look again.
    std::mem::forget(registered);
    value
}

/// A temporary file or directory that removes itself when dropped.
pub trait Temporary {
    fn path(&self) -> &Path;
}

impl Temporary for tempfile::NamedTempFile {
    fn path(&self) -> &Path {
        tempfile::NamedTempFile::path(self)
    }
}

impl Temporary for tempfile::TempDir {
    fn path(&self) -> &Path {
        tempfile::TempDir::path(self)
    }
}

/// Writes `target` through `temporary`, which the signal handler removes meanwhile: `write` fills
/// it, then `publish` moves it into place under [`commit`]. A failed write removes the temporary
/// before forgetting it, so no moment leaves it behind.
pub fn write_through<Tmp: Temporary, T>(
    temporary: Tmp,
    target: &Path,
    write: impl FnOnce(&Tmp) -> anyhow::Result<T>,
    publish: impl FnOnce(Tmp) -> anyhow::Result<()>,
) -> anyhow::Result<T> {
    let registered = remove_on_signal(temporary.path(), target);
    let value = match write(&temporary) {
        Ok(value) => value,
        Err(e) => {
            drop(temporary);
            drop(registered);
            return Err(e);
        }
    };
    commit(registered, || publish(temporary))?;
    Ok(value)
}

fn start_handler() {
    let mut signals = match Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(signals) => signals,
        Err(e) => {
            // The signals keep their default action: the temporary may be left behind.
            tracing::warn!(
                "cannot catch Ctrl-C ({e}); an interrupted write may leave its temporary file"
            );
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || {
            for signal in signals.forever() {
                // Held until the process exits: nothing is committed after this point.
                let registry = pending();
                if registry.pending.is_empty() {
                    continue;
                }
                let name = match signal {
                    SIGINT => "interrupted (Ctrl-C)",
                    SIGTERM => "terminated (SIGTERM)",
                    _ => "hung up (SIGHUP)",
                };
                for p in &registry.pending {
                    match remove(&p.temporary) {
                        Ok(()) => eprintln!(
                            "{name}: {} was not written; its unfinished temporary {} is removed",
                            p.target.display(),
                            p.temporary.display()
                        ),
                        Err(e) => eprintln!(
                            "{name}: {} was not written, but its unfinished temporary {} could not \
                             be removed ({e}); delete it",
                            p.target.display(),
                            p.temporary.display()
                        ),
                    }
                }
                std::process::exit(128 + signal);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(
            "cannot watch for Ctrl-C ({e}); an interrupted write may leave its temporary file"
        );
    }
}

/// Removes a file, or a directory with everything in it. Other threads may still be adding files
/// to a directory while it is removed, so that is tried a few times.
fn remove(path: &Path) -> std::io::Result<()> {
    if !path.is_dir() {
        return std::fs::remove_file(path);
    }
    let mut last = Ok(());
    for _ in 0..20 {
        last = std::fs::remove_dir_all(path);
        if last.is_ok() || !path.exists() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    last
}
