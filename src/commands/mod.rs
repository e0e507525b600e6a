//! One module per subcommand. Each turns its arguments into library calls and prints the outcome.
//!
//! Exit codes: 0 success (for `verify`: genuine), 1 a verification that did not come out genuine,
//! 2 an error (bad arguments, unreadable files, invalid input), with a message on standard error.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use verifier::config::LogFormat;

mod admin;
mod admin_socket;
mod authority;
mod demo;
mod files;
mod interrupt;
mod keys;
mod labels;
mod log;
mod log_codes;
mod log_monitor;
mod progress;
mod receipt;
mod registry;
mod serve;
mod sign;
mod store_args;
mod verify;
mod witness;

#[derive(Parser)]
#[command(
    name = "partseal",
    version,
    about = "Parts provenance: signed part codes, labels and their chain of custody"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Try everything at once: an authority, a certified manufacturer and a signed batch, in one folder.
    Demo(demo::DemoArgs),
    /// The certification authority: its root key, manufacturer certificates, revocations.
    #[command(subcommand)]
    Authority(authority::AuthorityCommand),
    /// Manufacturer signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Sign a batch of part codes into a manifest (JSON Lines, one code per line).
    Sign(sign::SignArgs),
    /// Print labels for a signed manifest: PNG, SVG, PDF sheets or ZPL for thermal printers.
    Labels(labels::LabelsArgs),
    /// Check a scanned code and print a verdict.
    Verify(verify::VerifyArgs),
    /// Operate on a registry data directory: register manifests, audit, stats, backup, restore.
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Run the verifier service.
    Serve(serve::ServeArgs),
    /// The registry's public transparency log: its key, and a monitor that checks it from outside.
    #[command(subcommand)]
    Log(log::LogCommand),
    /// Witness transparency logs: cosign a log's checkpoint only if it extends the last one cosigned.
    Witness(witness::WitnessArgs),
    /// The service's parties, API tokens and trust state, whether `partseal serve` runs or not.
    ///
    /// While the service runs on the data directory, it carries the command out; on a database,
    /// every service on it sees the change within a second.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // The service sets up its logs from its configuration, the witness at the info level; every
    // other command logs warnings as text.
    if !matches!(cli.command, Command::Serve(_) | Command::Witness(_)) {
        init_tracing(LogFormat::Text, "warn");
    }
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Authority(cmd) => authority::run(cmd),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Registry(cmd) => registry::run(cmd),
        Command::Sign(args) => sign::run(args),
        Command::Labels(args) => labels::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Admin(cmd) => admin::run(cmd),
        Command::Log(cmd) => log::run(cmd),
        Command::Witness(args) => witness::run(args),
    }
}

/// A time given on the command line (`2026-11-22` or RFC 3339), or now.
fn given_time_or_now(given: Option<&str>) -> anyhow::Result<signer::Timestamp> {
    match given {
        Some(t) => signer::Timestamp::parse(t).map_err(anyhow::Error::msg),
        None => Ok(signer::Timestamp::now()),
    }
}

/// Logs go to standard error; `RUST_LOG` overrides the default level: a level, or `target=level`
/// directives separated by commas (`warn,verifier=debug`). One that does not parse is ignored.
pub fn init_tracing(format: LogFormat, default_level: &str) {
    // `Targets` takes the same level and `target=level` directives as `EnvFilter`, without the
    // span and field filters nobody here uses, whose regex engine was ~4% of a cold release build.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|directives| !directives.is_empty())
        .and_then(|directives| directives.parse::<Targets>().ok())
        .or_else(|| default_level.parse::<Targets>().ok())
        .unwrap_or_default();
    // Colours only for a person at a terminal: in a file or a pipe they are escape codes.
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let subscriber = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => subscriber.with(logs.json()).init(),
        LogFormat::Text => subscriber.with(logs.with_target(false)).init(),
    }
}
