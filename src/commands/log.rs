//! `partseal log`: the registry's public transparency log.

use std::process::ExitCode;

use clap::Subcommand;

use super::store_args::DataArgs;

#[derive(Subcommand)]
pub enum LogCommand {
    /// Print the log's public key (the note verifier key that checks its checkpoints and receipts).
    Key {
        #[command(flatten)]
        store: DataArgs,
        /// The service's base URL, whose host names the log (also PARTSEAL_BASE_URL).
        #[arg(long, value_name = "URL", env = "PARTSEAL_BASE_URL")]
        base_url: String,
    },
    /// Follow the log from outside: check each checkpoint's signatures, rebuild the tree from its
    /// tiles, and catch a log that shrank or was rewritten since the last verified checkpoint.
    Monitor(super::log_monitor::MonitorArgs),
}

pub fn run(cmd: LogCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LogCommand::Key { store, base_url } => {
            let registry = super::registry::open(&store, registry::Create::Never)?;
            let origin = verifier::log_sequencer::origin(&base_url);
            let key = tlog::LogKey::new(&origin, registry.log_signing_key()?)?;
            println!("{}", key.verifier_key());
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Monitor(args) => super::log_monitor::run(args),
    }
}
