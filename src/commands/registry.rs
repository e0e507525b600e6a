//! `partseal registry`: operator commands on a registry: a data directory that no server is using,
//! or a PostgreSQL database (which servers may be using meanwhile).

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use registry::{
    Create, Location, RegisterOptions, Registration, Registry, RegistryConfig, RegistryError,
    StoreError, register_manifest_with,
};
use serde_json::json;
use signer::{Certificate, RevocationList, RevocationReason, Timestamp};

use super::store_args::DataArgs;
use super::{admin_socket, files, progress};

#[derive(Subcommand)]
pub enum RegistryCommand {
    /// Register a manifest's codes (verifying every signature); prints a summary.
    ///
    /// The authority's key given with --trust is trusted by this registry from then on.
    Register(RegisterArgs),
    /// Check every hash chain and index; exit 0 only if all is intact.
    Audit(DataArgs),
    /// Codes, events, flags and bytes on disk.
    Stats(DataArgs),
    /// Copy the whole store into one file.
    Backup(BackupArgs),
    /// Create a data directory from a backup file.
    Restore(RestoreArgs),
}

#[derive(Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    trust: files::TrustFiles,
    /// Register codes of a revoked key anyway: the history of parts made before the revocation
    /// (their public verdict still says the key is revoked).
    #[arg(long)]
    allow_revoked: bool,
    /// Write the result of every line here (JSON Lines). An existing file is never overwritten.
    #[arg(long, value_name = "FILE")]
    results: Option<PathBuf>,
    /// The manifest `partseal sign` wrote, or `-` for standard input.
    manifest: PathBuf,
}

#[derive(Args)]
pub struct BackupArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The backup file to create (never overwritten; readable by its owner only).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The data directory to create (it must not exist or be empty), or with --database-url the
    /// empty database to fill.
    #[command(flatten)]
    data: DataArgs,
    /// The backup file.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
}

pub fn run(cmd: RegistryCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RegistryCommand::Register(args) => register(args),
        RegistryCommand::Audit(args) => audit(args),
        RegistryCommand::Stats(args) => stats(args),
        RegistryCommand::Backup(args) => backup(args),
        RegistryCommand::Restore(args) => restore(args),
    }
}

pub(super) fn open(at: &DataArgs, create: Create) -> anyhow::Result<Registry> {
    open_for(at, create, None)
}

/// Opens the registry for a command; `upload` is the manifest a `register` command was given, so
/// that when a running service holds the store the message shows how to send it there instead.
fn open_for(at: &DataArgs, create: Create, upload: Option<&Path>) -> anyhow::Result<Registry> {
    // A command runs once over the store: records kept in memory for later lookups would only
    // cost memory and time.
    let config = RegistryConfig {
        record_cache_bytes: 0,
        ..RegistryConfig::default()
    };
    let location = at.location();
    Registry::open_at(&location, create, config).map_err(|e| match e {
        RegistryError::Store(StoreError::Missing(_)) => {
            anyhow::anyhow!("{location} holds no registry (nothing registered there yet?)")
        }
        RegistryError::Store(StoreError::Locked(_)) => held(&location, upload),
        e => anyhow::Error::from(e).context(format!("cannot open the registry in {location}")),
    })
}

/// The store is held by another process: the running service (its admin socket answers with its
/// address), or another command.
fn held(location: &Location, upload: Option<&Path>) -> anyhow::Error {
    let service = match location {
        Location::Directory(dir) => admin_socket::serving_url(dir),
        Location::Database(_) => None,
    };
    let Some(url) = service else {
        return anyhow::anyhow!(
            "the registry in {location} is held by another process (another `partseal` command, or \
             a service that is starting or stopping); try again when it is done"
        );
    };
    let Some(manifest) = upload else {
        return anyhow::anyhow!(
            "the registry in {location} is held by the running `partseal serve` ({url}); \
             stop the service to run this command (`partseal admin status` works while it runs)"
        );
    };
    let file = manifest.display();
    anyhow::anyhow!(
        "the registry in {location} is held by the running `partseal serve` ({url}), which \
         registers manifests itself. Send it the manifest in one of two ways, as the manufacturer:\n\
         \x20 - through its API, with the manufacturer's token (`partseal admin token create \
         --data {location} --party ID` makes one):\n\
         \x20     curl --fail-with-body -H \"Authorization: Bearer $MAKER_TOKEN\" \
         -H 'Content-Type: application/x-ndjson' --data-binary @{file} {url}/api/v1/manifests\n\
         \x20 - on its dashboard: open {url}/dashboard, sign in with that token, and upload {file}\n\
         Or stop the service and run this command again."
    )
}

/// Refuses (unless `allow`) when `list` revokes one of the `--cert` certificates: a compromised
/// key's codes are trusted by nobody, and a decertified maker may not register new ones. With
/// `allow` it says what it lets through.
fn check_not_revoked(
    certs: &[(PathBuf, Certificate)],
    list: &RevocationList,
    source: &str,
    allow: bool,
    now: Timestamp,
) -> anyhow::Result<()> {
    for (path, cert) in certs {
        let Some(r) = list.revocation_of(cert, now) else {
            continue;
        };
        let why = match r.reason {
            RevocationReason::KeyCompromise => format!(
                "its key {} was reported compromised on {}, so no code it signed is trusted",
                cert.key_id(),
                r.effective_at
            ),
            RevocationReason::Decertified => format!(
                "its maker {} was decertified on {} and may not register new codes",
                cert.body().manufacturer_id,
                r.effective_at
            ),
        };
        if allow {
            eprintln!(
                "warning: --allow-revoked: registering codes of {} although {source} revokes it: \
                 {why}",
                path.display()
            );
            continue;
        }
        bail!(
            "{} is revoked by {source}: {why}. Nothing was registered. --allow-revoked registers \
             its codes anyway, for parts made before the revocation (their public verdict stays \
             revoked)",
            path.display()
        );
    }
    Ok(())
}

fn register(args: RegisterArgs) -> anyhow::Result<ExitCode> {
    // Check the trust files before touching the store, so a typo leaves no empty registry behind.
    let trust = args.trust.load()?;
    let certs = args
        .trust
        .certs
        .iter()
        .map(|path| Ok((path.clone(), files::certificate(path)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let now = Timestamp::now();
    if let (Some(list), Some(path)) = (trust.revocations(), &args.trust.revoked) {
        let source = path.display().to_string();
        check_not_revoked(&certs, list, &source, args.allow_revoked, now)?;
    }
    if let Some(path) = &args.results {
        if path.exists() {
            bail!(
                "{} already exists; choose another --results",
                path.display()
            );
        }
    }
    let registry = open_for(&args.data, Create::IfMissing, Some(&args.manifest))?;
    // The registry may know a revocation this command was not given (an earlier `admin trust
    // --revoked`, a newer list): checked before anything is written. A list no newer than the
    // one given says nothing new.
    let given = trust.revocations().map(RevocationList::sequence);
    let known = registry.trust().revocations().cloned();
    if let Some(list) = known.filter(|l| given.is_none_or(|given| l.sequence() > given)) {
        let source = "the registry's revocation list";
        check_not_revoked(&certs, &list, source, args.allow_revoked, now)?;
    }
    for root in trust.roots() {
        registry.add_root(*root, now)?;
    }
    for cert in trust.certificates() {
        registry.add_certificate(cert.clone(), now)?;
    }
    if let Some(list) = trust.revocations() {
        registry.set_revocations(list.clone(), now)?;
    }

    let input: Box<dyn std::io::BufRead> = if args.manifest.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin().lock()))
    } else {
        let file = File::open(&args.manifest)
            .with_context(|| format!("cannot read {}", args.manifest.display()))?;
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    let bar = progress::bar(None, "registering");
    let run = |out: &mut dyn FnMut(u64, &Registration) -> std::io::Result<()>| {
        let mut failed = None;
        let options = RegisterOptions {
            allow_revoked: args.allow_revoked,
        };
        let summary =
            register_manifest_with(&registry, input, None, now, options, |line, result| {
                bar.inc(1);
                if failed.is_none() {
                    failed = out(line, result).err();
                }
            })
            .inspect_err(|stopped| {
                // What is registered, before the error that names where to resume.
                bar.finish_and_clear();
                print_summary("stored before it stopped", &stopped.summary);
            })?;
        match failed {
            Some(e) => Err(anyhow::Error::from(e).context("cannot write the results")),
            None => Ok(summary),
        }
    };
    let summary = match &args.results {
        Some(path) => files::write_atomically(path, files::PUBLIC, |file| {
            run(&mut |line, result| write_result(file, line, result))
        })?,
        None => run(&mut |_, _| Ok(()))?,
    };
    bar.finish_and_clear();

    print_summary("", &summary);
    Ok(if summary.rejected_total() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_summary(what: &str, summary: &registry::Summary) {
    let what = if what.is_empty() {
        String::new()
    } else {
        format!(" {what}")
    };
    println!("{} lines{what}", summary.lines);
    println!("  registered:          {}", summary.registered);
    println!("  already registered:  {}", summary.already_registered);
    println!("  rejected:            {}", summary.rejected_total());
    for (reason, n) in &summary.rejected {
        println!("    {reason}: {n}");
    }
}

fn write_result(out: &mut dyn Write, line: u64, result: &Registration) -> std::io::Result<()> {
    let value = match result {
        Registration::Rejected(r) => json!({"line": line, "result": r.code, "reason": r.reason}),
        other => json!({"line": line, "result": other.code()}),
    };
    writeln!(out, "{value}")
}

fn audit(args: DataArgs) -> anyhow::Result<ExitCode> {
    let registry = open(&args, Create::Never)?;
    let total = registry.stats()?.codes;
    let bar = progress::bar(Some(total), "auditing");
    let report = registry.audit(|done| bar.set_position(done))?;
    bar.finish_and_clear();
    println!(
        "audited {} codes and {} events",
        report.codes, report.events
    );
    if report.is_clean() {
        println!("every hash chain and index is intact");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} problems:", report.problems.len());
    for p in &report.problems {
        println!("  {p}");
    }
    Ok(ExitCode::from(1))
}

fn stats(args: DataArgs) -> anyhow::Result<ExitCode> {
    let registry = open(&args, Create::Never)?;
    let s = registry.stats()?;
    println!("codes:            {}", s.codes);
    println!("events:           {} (after registration)", s.events);
    println!("flagged codes:    {}", s.alerts);
    println!("recalled lots:    {}", s.lot_recalls);
    println!("scanned codes:    {}", s.scanned_codes);
    println!("bytes on disk:    {}", s.bytes_on_disk);
    if let Some(per_code) = s.bytes_on_disk.checked_div(s.codes) {
        println!("bytes per code:   {per_code}");
    }
    Ok(ExitCode::SUCCESS)
}

fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let registry = open(&args.data, Create::Never)?;
    let records =
        files::write_atomically(&args.out, files::PRIVATE, |file| Ok(registry.backup(file)?))?;
    println!("backed up {records} records to {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let file =
        File::open(&args.from).with_context(|| format!("cannot read {}", args.from.display()))?;
    let mut input = BufReader::with_capacity(1 << 20, file);
    let target = args.data.location();
    let records = target
        .restore(&mut input)
        .with_context(|| format!("cannot restore {}", args.from.display()))?;
    let registry = open(&args.data, Create::Never)?;
    let report = registry.audit(|_| {})?;
    println!(
        "restored {records} records into {target} ({} codes; audit {})",
        report.codes,
        if report.is_clean() {
            "clean"
        } else {
            "found problems: run `partseal registry audit`"
        }
    );
    Ok(ExitCode::SUCCESS)
}
