//! Signing a whole batch: serials in, manifest lines out, on every core, in bounded memory.
//!
//! Serials are pulled in chunks; each chunk is signed in parallel (rayon) and written in order before
//! the next is pulled, so memory stays at one chunk however large the batch.

use std::io::Write;

use ed25519_dalek::SigningKey;
use rayon::prelude::*;

use crate::code::{BaseUrl, PartId, SignedCode};
use crate::gs1::{Gtin, Lot, Serial};
use crate::manifest::ManifestEntry;

/// Codes signed per chunk: large enough to keep both cores busy, small enough to stay a few MB.
const CHUNK: usize = 8192;

/// What every code of a batch shares.
#[derive(Clone, Debug)]
pub struct BatchSpec {
    pub gtin: Gtin,
    pub lot: Option<Lot>,
    pub base: BaseUrl,
    /// Optional short part name printed on labels.
    pub name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Serial(E),
    #[error("writing the manifest failed: {0}")]
    Write(#[source] std::io::Error),
}

/// Endless fresh random serials (from a per-thread CSPRNG seeded by the operating system).
pub fn random_serials() -> impl Iterator<Item = Result<Serial, std::convert::Infallible>> {
    std::iter::repeat_with(|| Ok(Serial::random(&mut rand::thread_rng())))
}

/// Signs one code per serial and writes one manifest line each to `out`. Calls `progress` with the
/// running total after each chunk. Returns how many codes were written. Stops at the first bad serial
/// (nothing after it is written) or write error.
pub fn sign_batch<E, I, W>(
    key: &SigningKey,
    spec: &BatchSpec,
    serials: I,
    mut out: W,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<u64, BatchError<E>>
where
    E: std::error::Error + Send + 'static,
    I: IntoIterator<Item = Result<Serial, E>>,
    W: Write,
{
    let mut serials = serials.into_iter();
    let mut chunk: Vec<Serial> = Vec::with_capacity(CHUNK);
    let mut written = 0u64;
    loop {
        chunk.clear();
        let mut failure = None;
        for s in serials.by_ref() {
            match s {
                Ok(s) => chunk.push(s),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
            if chunk.len() == CHUNK {
                break;
            }
        }
        let lines: Vec<String> = chunk
            .par_iter()
            .map(|serial| {
                let part = PartId {
                    gtin: spec.gtin,
                    lot: spec.lot.clone(),
                    serial: serial.clone(),
                };
                let mut line =
                    ManifestEntry::new(SignedCode::sign(part, key), &spec.base, spec.name.clone())
                        .to_json_line();
                line.push('\n');
                line
            })
            .collect();
        for line in &lines {
            out.write_all(line.as_bytes()).map_err(BatchError::Write)?;
        }
        written += lines.len() as u64;
        if !lines.is_empty() {
            progress(written);
        }
        if let Some(e) = failure {
            out.flush().map_err(BatchError::Write)?;
            return Err(BatchError::Serial(e));
        }
        if chunk.len() < CHUNK {
            break;
        }
    }
    out.flush().map_err(BatchError::Write)?;
    Ok(written)
}
