//! `partseal witness`: a witness of transparency logs (c2sp.org/tlog-witness), cosigning a log's
//! checkpoint only if it extends the one it cosigned before; `partseal witness key`: its
//! cosignature verifier key, for the logs' configurations and `verify --witness`.
//!
//! The server is `verifier::witness_server`; here are the key file, the clock and the listener.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use tlog::LogVerifier;
use tlog::witness::Witness;
use verifier::witness_server::{WitnessService, router};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct WitnessArgs {
    #[command(subcommand)]
    command: Option<WitnessCommand>,
    #[command(flatten)]
    identity: Identity,
    /// Where to listen for `POST /add-checkpoint`.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7380")]
    listen: SocketAddr,
    /// The directory of its state: the latest checkpoint it cosigned per log.
    #[arg(long, value_name = "DIR", required = true)]
    state: Option<PathBuf>,
    /// A log it witnesses: the log's note verifier key (`partseal log key`, or the service's
    /// /log/key). Repeat for several logs.
    #[arg(long = "log", value_name = "KEY", required = true)]
    logs: Vec<String>,
}

#[derive(Subcommand)]
enum WitnessCommand {
    /// Print the witness's cosignature verifier key (creating its key file if missing).
    Key {
        #[command(flatten)]
        identity: Identity,
    },
}

#[derive(Args)]
struct Identity {
    /// The witness's private key (PEM); created, readable by its owner only, if missing.
    #[arg(long, value_name = "FILE", required = true)]
    key: Option<PathBuf>,
    /// The witness's name, which its cosignatures carry (e.g. `witness.example.org`).
    #[arg(long, value_name = "NAME", required = true)]
    name: Option<String>,
}

impl Identity {
    /// The witness, its key read from the file, or made and written there first.
    fn witness(&self) -> anyhow::Result<Witness> {
        let (Some(path), Some(name)) = (&self.key, &self.name) else {
            anyhow::bail!("give the witness's --key FILE and --name NAME");
        };
        let key = if path.exists() {
            super::files::signing_key(path)?
        } else {
            let key = signer::keys::generate();
            signer::keys::write_private_key(path, &key)
                .with_context(|| format!("cannot create the witness key {}", path.display()))?;
            key
        };
        Ok(Witness::new(name, key)?)
    }
}

pub fn run(args: WitnessArgs) -> anyhow::Result<ExitCode> {
    if let Some(WitnessCommand::Key { identity }) = &args.command {
        println!("{}", identity.witness()?.verifier_key());
        return Ok(ExitCode::SUCCESS);
    }
    super::init_tracing(verifier::config::LogFormat::Text, "info");
    let witness = args.identity.witness()?;
    let logs = args
        .logs
        .iter()
        .map(|k| LogVerifier::parse(k.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(dir) = args.state.as_deref() else {
        anyhow::bail!("give the witness's state directory: --state DIR");
    };
    let vkey = witness.verifier_key();
    let service = Arc::new(WitnessService::open(dir, witness, logs)?);
    let listener = std::net::TcpListener::bind(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    listener.set_nonblocking(true)?;
    let listening = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let shutdown = verifier::server::shutdown_signal();
        tracing::info!(
            listen = %listening,
            key = %vkey,
            state = %dir.display(),
            "partseal witness listening"
        );
        axum::serve(listener, router(service, now_secs))
            .with_graceful_shutdown(shutdown)
            .await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The time a cosignature carries: POSIX seconds (never 0, as tlog-witness requires).
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs().max(1))
}
