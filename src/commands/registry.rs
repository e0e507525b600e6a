//! `partseal registry`: operator commands on a registry: a data directory that no server is using,
//! or a PostgreSQL database (which servers may be using meanwhile).

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use registry::{
    Create, Registration, Registry, RegistryConfig, RegistryError, StoreError, register_manifest,
};
use serde_json::json;
use signer::Timestamp;

use super::store_args::DataArgs;
use super::{files, progress};

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

fn open(at: &DataArgs, create: Create) -> anyhow::Result<Registry> {
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
        e => anyhow::Error::from(e).context(format!("cannot open the registry in {location}")),
    })
}

fn register(args: RegisterArgs) -> anyhow::Result<ExitCode> {
    // Check the trust files before touching the store, so a typo leaves no empty registry behind.
    let trust = args.trust.load()?;
    if let Some(path) = &args.results {
        if path.exists() {
            bail!(
                "{} already exists; choose another --results",
                path.display()
            );
        }
    }
    let registry = open(&args.data, Create::IfMissing)?;
    let now = Timestamp::now();
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
        let summary = register_manifest(&registry, input, None, now, |line, result| {
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
