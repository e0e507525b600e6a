//! Registration: a manufacturer's signed codes become registered codes (their commissioning event).
//!
//! Signatures are checked with Ed25519 batch verification, in parallel chunks on every core: about
//! 2.5 times cheaper per signature than one-by-one strict verification. A chunk that fails as a
//! whole is re-checked code by code with `verify_strict` to find the bad ones. Batch verification
//! uses the cofactored equation; it can accept a signature that strict verification refuses only
//! when the key's owner crafted it (a small-order `R`), and the registry stores the exact bytes it
//! accepted, so the public check (a byte comparison against the registered signature) stays exact.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use rayon::prelude::*;
use signer::manifest::{LineError, MAX_LINE_LEN};
use signer::{CheckTimes, ManifestError, ManifestReader, SignedCode, Timestamp, TrustStore};

use crate::event::Commissioned;
use crate::key::CodeKey;
use crate::party::PartyId;
use crate::record::CodeRecord;
use crate::registry::{Registry, RegistryError};
use crate::store::{Store, StoreResult};

/// Codes registered per atomic write (and per sync) when reading a manifest.
pub const CHUNK: usize = 8192;
/// Signatures per batch verification.
const BATCH: usize = 128;

/// The result for one code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registration {
    Registered,
    /// Registered before with the same signature: re-sending a manifest is harmless.
    AlreadyRegistered,
    Rejected(Rejection),
}

/// Why a code was not registered: a stable code and a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub reason: String,
}

impl Registration {
    pub fn code(&self) -> &'static str {
        match self {
            Registration::Registered => "registered",
            Registration::AlreadyRegistered => "already_registered",
            Registration::Rejected(r) => r.code,
        }
    }
}

fn reject(code: &'static str, reason: impl Into<String>) -> Rejection {
    Rejection {
        code,
        reason: reason.into(),
    }
}

/// How a manifest is registered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegisterOptions {
    /// Register codes of a revoked key or a decertified maker too: the history of parts made
    /// before the revocation (an operator's decision; the API never sets it). Signature,
    /// certificate and prefixes must still hold, and the public verdict still says revoked.
    pub allow_revoked: bool,
}

/// The trust state without its revocation list: what `allow_revoked` checks codes against.
fn without_revocations(trust: &TrustStore) -> TrustStore {
    let mut plain = TrustStore::new(trust.roots().to_vec());
    for cert in trust.certificates() {
        // Each was checked against these same roots when the registry took it, so none is
        // refused here; one that were would leave its codes unknown, which is the safe side.
        let _ = plain.add_certificate(cert.clone());
    }
    plain
}

/// Trust rules and signatures for each code; `Ok` carries the manufacturer's party id.
pub(crate) fn check_codes(
    trust: &TrustStore,
    codes: &[SignedCode],
    as_party: Option<&PartyId>,
    times: CheckTimes,
    options: RegisterOptions,
) -> Vec<Result<PartyId, Rejection>> {
    let plain;
    let trust = if options.allow_revoked {
        plain = without_revocations(trust);
        &plain
    } else {
        trust
    };
    let mut results: Vec<Result<(PartyId, signer::VerifyingKey), Rejection>> = codes
        .iter()
        .map(|code| {
            let verified = trust
                .check_signed_code(code, times)
                .map_err(|e| reject(e.code(), e.to_string()))?;
            let cert = verified.certificate;
            if let Some(r) = verified.decertified {
                return Err(reject(
                    "manufacturer_decertified",
                    format!(
                        "{} was decertified on {}: it may not register new codes",
                        cert.body().manufacturer_id,
                        r.effective_at
                    ),
                ));
            }
            let manufacturer = PartyId::parse(&cert.body().manufacturer_id)
                .map_err(|e| reject("invalid_certificate", e.to_string()))?;
            if let Some(party) = as_party {
                if party != &manufacturer {
                    return Err(reject(
                        "not_your_code",
                        format!(
                            "the code is signed under {manufacturer}'s certificate, not {party}'s"
                        ),
                    ));
                }
            }
            Ok((manufacturer, *cert.public_key()))
        })
        .collect();

    let pending: Vec<(usize, signer::VerifyingKey)> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().ok().map(|(_, key)| (i, *key)))
        .collect();
    let bad: Vec<usize> = pending
        .par_chunks(BATCH)
        .flat_map_iter(|chunk| {
            let messages: Vec<Vec<u8>> = chunk
                .iter()
                .map(|&(i, _)| signer::signed_message(&codes[i].part, &codes[i].key_id))
                .collect();
            let message_refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            let signatures: Vec<_> = chunk.iter().map(|&(i, _)| codes[i].signature).collect();
            let keys: Vec<_> = chunk.iter().map(|&(_, key)| key).collect();
            if ed25519_dalek::verify_batch(&message_refs, &signatures, &keys).is_ok() {
                return Vec::new();
            }
            chunk
                .iter()
                .filter(|(i, key)| codes[*i].verify(key).is_err())
                .map(|&(i, _)| i)
                .collect()
        })
        .collect();
    for i in bad {
        results[i] = Err(reject(
            "bad_signature",
            "the signature does not match the code: forged or altered",
        ));
    }
    results
        .into_iter()
        .map(|r| r.map(|(party, _)| party))
        .collect()
}

/// Writes the codes that passed the checks, answering per code.
///
/// Each code is inserted only if its key is free ([`Store::insert_new_codes`]): no code is ever
/// overwritten, two uploads of the same code cannot both register it, and no global lock is held.
/// A crash midway leaves some codes registered and the rest not; nothing was acknowledged, and
/// sending the manifest again finishes the job.
pub(crate) fn store_codes(
    store: &Store,
    codes: &[SignedCode],
    names: &[Option<String>],
    checked: Vec<Result<PartyId, Rejection>>,
    now: Timestamp,
) -> StoreResult<Vec<Registration>> {
    enum Pending {
        Done(Registration),
        /// The first occurrence in this batch: `fresh[n]`, inserted below.
        Insert(usize),
        /// A later occurrence of the code at this index.
        Repeat(usize),
    }
    let mut first_in_batch: HashMap<CodeKey, usize> = HashMap::new();
    let mut fresh: Vec<(CodeKey, CodeRecord)> = Vec::new();
    let pending: Vec<Pending> = codes
        .iter()
        .zip(checked)
        .enumerate()
        .map(|(i, (code, check))| match check {
            Err(r) => Pending::Done(Registration::Rejected(r)),
            Ok(manufacturer) => {
                let key = CodeKey::of(&code.part);
                match first_in_batch.get(&key) {
                    Some(&first) => Pending::Repeat(first),
                    None => {
                        first_in_batch.insert(key.clone(), i);
                        let commissioned = Commissioned {
                            lot: code.part.lot.clone(),
                            key_id: code.key_id,
                            signature: code.signature,
                        };
                        let mut record =
                            CodeRecord::registered(&key, commissioned, manufacturer, now);
                        record.name =
                            crate::record::part_name(names.get(i).and_then(|n| n.as_deref()));
                        fresh.push((key, record));
                        Pending::Insert(fresh.len() - 1)
                    }
                }
            }
        })
        .collect();
    let inserted = store.insert_new_codes(&fresh)?;
    let mut results: Vec<Registration> = Vec::with_capacity(codes.len());
    for (i, p) in pending.iter().enumerate() {
        let code = &codes[i];
        let same = |lot: &Option<signer::Lot>, key_id, signature| {
            *lot == code.part.lot && key_id == code.key_id && signature == code.signature
        };
        results.push(match p {
            Pending::Done(r) => r.clone(),
            Pending::Insert(n) => match &inserted[*n] {
                None => Registration::Registered,
                Some(existing) if same(&existing.lot, existing.key_id, existing.signature) => {
                    Registration::AlreadyRegistered
                }
                Some(_) => conflict(&fresh[*n].0),
            },
            Pending::Repeat(first) => {
                let earlier = &codes[*first];
                let first_stands = matches!(
                    results[*first],
                    Registration::Registered | Registration::AlreadyRegistered
                );
                if first_stands && same(&earlier.part.lot, earlier.key_id, earlier.signature) {
                    Registration::AlreadyRegistered
                } else {
                    conflict(&CodeKey::of(&code.part))
                }
            }
        });
    }
    Ok(results)
}

fn conflict(key: &CodeKey) -> Registration {
    tracing::warn!(code = %key, "registration conflicts with the registered code");
    Registration::Rejected(reject(
        "conflicting_registration",
        format!(
            "{key} is already registered with a different lot, key or signature: a GTIN and \
             serial identify one part, so this may mean a leaked key or a manufacturing data error"
        ),
    ))
}

/// Totals of a manifest registration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub lines: u64,
    pub registered: u64,
    pub already_registered: u64,
    /// Rejected lines by reason code (malformed lines as `malformed_line`, over-long ones as
    /// `line_too_long`).
    pub rejected: BTreeMap<&'static str, u64>,
}

impl Summary {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    fn count(&mut self, result: &Registration) {
        self.lines += 1;
        match result {
            Registration::Registered => self.registered += 1,
            Registration::AlreadyRegistered => self.already_registered += 1,
            Registration::Rejected(r) => *self.rejected.entry(r.code).or_default() += 1,
        }
    }
}

/// A manifest registration that stopped before the end (storage failed, or the input could not be
/// read): exactly what was stored durably before it stopped.
#[derive(Debug, thiserror::Error)]
#[error("{error}; {}", self.resume())]
pub struct Interrupted {
    /// The lines up to [`Interrupted::stored_through`], every one reported.
    pub summary: Summary,
    /// The last line whose result is durable: re-sending from the next one completes the manifest
    /// (lines of the failed chunk that did land come back as already registered).
    pub stored_through: u64,
    /// Why it stopped (said in this error's message, so not also its source).
    pub error: RegistryError,
}

impl Interrupted {
    /// What to do next, in a sentence.
    pub fn resume(&self) -> String {
        match self.stored_through {
            0 => "nothing was stored: re-send the whole manifest".to_owned(),
            n => format!(
                "lines 1 to {n} are stored: re-send from line {} (lines already stored come back \
                 as already registered)",
                n + 1
            ),
        }
    }
}

/// Registers a manifest as `partseal sign` writes it, streaming in chunks of [`CHUNK`] codes (each
/// chunk durable before its results are reported), and reports every line to `on_line` with its
/// 1-based number. A malformed line is rejected with its reason; the rest go on. Stops only if the
/// input cannot be read or storage fails: then [`Interrupted`] says which lines are stored.
///
/// Two stages overlap: while one chunk is written and synced, the next one's signatures are checked
/// on every core. Memory holds at most three chunks whatever the manifest's size.
pub fn register_manifest<R: BufRead>(
    registry: &Registry,
    input: R,
    as_party: Option<&PartyId>,
    now: Timestamp,
    on_line: impl FnMut(u64, &Registration),
) -> Result<Summary, Interrupted> {
    register_manifest_with(
        registry,
        input,
        as_party,
        now,
        RegisterOptions::default(),
        on_line,
    )
}

/// [`register_manifest`] with [`RegisterOptions`].
pub fn register_manifest_with<R: BufRead>(
    registry: &Registry,
    input: R,
    as_party: Option<&PartyId>,
    now: Timestamp,
    options: RegisterOptions,
    mut on_line: impl FnMut(u64, &Registration),
) -> Result<Summary, Interrupted> {
    type Lines = Vec<(u64, Result<(SignedCode, Option<String>), Rejection>)>;
    type Checked = (
        Lines,
        Vec<SignedCode>,
        Vec<Option<String>>,
        Vec<Result<PartyId, Rejection>>,
    );
    let mut summary = Summary::default();
    let mut stored_through = 0u64;
    let mut reader = ManifestReader::new(input);
    let outcome = std::thread::scope(|scope| {
        let (to_store, stored_in) = std::sync::mpsc::sync_channel::<Checked>(1);
        let (to_report, reports) =
            std::sync::mpsc::sync_channel::<Result<(Lines, Vec<Registration>), RegistryError>>(1);
        let writer = scope.spawn(move || {
            for (lines, codes, names, checked) in stored_in {
                let stored = registry
                    .store_checked(&codes, &names, checked, now)
                    .map(|results| (lines, results));
                let failed = stored.is_err();
                if to_report.send(stored).is_err() || failed {
                    break;
                }
            }
        });
        let mut report = |summary: &mut Summary, (lines, results): (Lines, Vec<Registration>)| {
            let mut results = results.into_iter();
            for (line, code) in lines {
                let result = match code {
                    Ok(_) => results.next().unwrap_or(Registration::Rejected(reject(
                        "internal",
                        "no result for this line",
                    ))),
                    Err(r) => Registration::Rejected(r),
                };
                summary.count(&result);
                on_line(line, &result);
                stored_through = line;
            }
        };
        let mut in_flight = 0usize;
        let outcome = loop {
            let (lines, end) = match read_chunk(&mut reader) {
                Ok(chunk) => chunk,
                Err(e) => break Err(e),
            };
            if !lines.is_empty() {
                let (codes, names): (Vec<SignedCode>, Vec<Option<String>>) = lines
                    .iter()
                    .filter_map(|(_, c)| c.as_ref().ok().cloned())
                    .unzip();
                let checked = registry.check_codes(&codes, as_party, now, options);
                // Collect the previous chunk's results before queueing this one, so reports
                // come in line order and at most one chunk waits.
                if in_flight > 0 {
                    match reports.recv() {
                        Ok(Ok(done)) => report(&mut summary, done),
                        Ok(Err(e)) => break Err(e),
                        Err(_) => break Err(writer_gone()),
                    }
                    in_flight -= 1;
                }
                if to_store.send((lines, codes, names, checked)).is_err() {
                    break Err(writer_gone());
                }
                in_flight += 1;
            }
            if end {
                break Ok(());
            }
        };
        drop(to_store);
        let outcome = outcome.and_then(|()| {
            for _ in 0..in_flight {
                match reports.recv() {
                    Ok(Ok(done)) => report(&mut summary, done),
                    Ok(Err(e)) => return Err(e),
                    Err(_) => return Err(writer_gone()),
                }
            }
            Ok(())
        });
        drop(reports);
        let _ = writer.join();
        outcome
    });
    match outcome {
        Ok(()) => Ok(summary),
        Err(error) => Err(Interrupted {
            summary,
            stored_through,
            error,
        }),
    }
}

fn writer_gone() -> RegistryError {
    RegistryError::WriterStopped
}

/// Up to [`CHUNK`] lines, and whether the manifest ended.
#[allow(clippy::type_complexity)]
fn read_chunk<R: BufRead>(
    reader: &mut ManifestReader<R>,
) -> Result<
    (
        Vec<(u64, Result<(SignedCode, Option<String>), Rejection>)>,
        bool,
    ),
    RegistryError,
> {
    let mut lines = Vec::with_capacity(CHUNK);
    while lines.len() < CHUNK {
        match reader.next() {
            None => return Ok((lines, true)),
            Some(Ok(entry)) => lines.push((reader.line(), Ok((entry.code, entry.name)))),
            // An over-long line gets its own code: the fix (shorten the name, or a wrong file
            // altogether) differs from a malformed one. The reader skipped it without holding it.
            Some(Err(ManifestError::Line {
                line,
                error: LineError::TooLong,
            })) => lines.push((
                line,
                Err(reject(
                    "line_too_long",
                    format!("line {line} is longer than {MAX_LINE_LEN} bytes; it was skipped"),
                )),
            )),
            Some(Err(ManifestError::Line { line, error })) => {
                lines.push((line, Err(reject("malformed_line", error.to_string()))))
            }
            Some(Err(e @ ManifestError::Io { .. })) => {
                return Err(RegistryError::ManifestUnreadable(Box::new(e)));
            }
        }
    }
    Ok((lines, false))
}
