//! Full disks, for real: a small tmpfs of a test's own ([`Tmpfs`]), filled with a file until it
//! takes no more ([`fill`]), and space given back ([`free`], or deleting the file).
//!
//! Mounting needs root: [`Tmpfs::mount`] skips (returns `None`) when not root and `CI` is unset,
//! and fails when `CI` is set and it cannot mount (CI runs as root).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted on a temporary directory, unmounted when dropped.
pub struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    /// A tmpfs of `size` (`mount -o size=…`, e.g. `"24m"`); `None` (skip the test) only when not
    /// root and `CI` is unset, otherwise mounting must work.
    pub fn mount(size: &str) -> Option<Tmpfs> {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
        if !root && std::env::var_os("CI").is_none() {
            eprintln!("skipped: mounting a tmpfs needs root (CI runs this as root)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs (root: {root}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(Tmpfs(dir))
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a store handle a failed assertion left open must not keep it mounted.
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

/// Fills the file system `dir` is on with a file (`dir/filler`) until it takes no more, and
/// returns the file's path: deleting it gives the space back.
pub fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    for size in [1 << 20, 4096, 1] {
        let block = vec![0xA5u8; size];
        while file.write_all(&block).is_ok() {}
    }
    let _ = file.sync_all();
    path
}

/// Frees `bytes` of the filler [`fill`] wrote. The file is closed at once: an open handle would
/// keep the space when the file is deleted.
pub fn free(filler: &Path, bytes: u64) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(filler)
        .unwrap();
    let len = file.metadata().unwrap().len();
    file.set_len(len.saturating_sub(bytes)).unwrap();
}
