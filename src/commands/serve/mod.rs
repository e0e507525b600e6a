//! `partseal serve`: the verifier service, on the embedded registry in its data directory or on a
//! PostgreSQL database that any number of such services share.

mod demo;
mod stopping;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use registry::{Create, Location, Registry};
use verifier::config::{LogFormat, Overrides};
use verifier::{AppState, Config};

#[derive(Args)]
pub struct ServeArgs {
    /// Set up a ready-to-try instance first: a demo authority, manufacturer, shop with a token, and
    /// 20 registered codes (kept in DATA/demo and reused on the next run).
    #[arg(long)]
    demo: bool,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    listen: Option<SocketAddr>,
    /// Data directory of the embedded store [default: ./partseal-data]; with --database-url it
    /// keeps only the admin socket and the demo's files.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The registry's PostgreSQL database instead of the embedded store, e.g.
    /// postgres://partseal@db1,db2/partseal?target_session_attrs=read-write
    /// (also PARTSEAL_DATABASE_URL, or database_url in the configuration file).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Public base URL that labels point at [default: http://<listen>].
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Public requests per minute per client; 0 switches the limit off [default: 60].
    #[arg(long, value_name = "PER_MINUTE")]
    rate_limit: Option<u32>,
    /// Log format: text or json [default: text].
    #[arg(long, value_name = "FORMAT", value_parser = parse_log_format)]
    log_format: Option<LogFormat>,
    /// IANA time zone in which pages show times, e.g. Europe/Berlin [default: Asia/Shanghai].
    #[arg(long, value_name = "ZONE")]
    time_zone: Option<String>,
    /// A TOML configuration file; PARTSEAL_* environment variables override it, and flags override both.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Where a browser or `curl` on this machine reaches a service listening on `addr`: a wildcard
/// address (`0.0.0.0`, `::`) is reached on loopback.
fn local_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if !ip.is_unspecified() => ip,
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// An address and port; a port alone (`38085`, `:38085`) is answered with the address to use.
fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse() {
        return Ok(addr);
    }
    match s.trim_start_matches(':').parse::<u16>() {
        Ok(port) => Err(format!(
            "an address and a port are needed: --listen 127.0.0.1:{port} (this machine only) or \
             --listen 0.0.0.0:{port} (every network interface)"
        )),
        Err(_) => Err(
            "not an address and port: for example 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080"
                .to_owned(),
        ),
    }
}

fn parse_log_format(s: &str) -> Result<LogFormat, String> {
    match s {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err("use text or json".into()),
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let file = match &args.config {
        Some(path) => Overrides::from_file(path)?,
        None => Overrides::default(),
    };
    let env = Overrides::from_env(|name| std::env::var(name).ok())?;
    let flags = Overrides {
        listen: args.listen,
        data: args.data,
        database_url: args.database_url.map(verifier::config::DatabaseUrl),
        base_url: args.base_url,
        rate_limit: args.rate_limit,
        log_format: args.log_format,
        time_zone: args.time_zone,
        ..Overrides::default()
    };
    let config = Config::resolve([file, env, flags])?;
    // tokio-postgres logs the server's NOTICEs (e.g. "relation already exists, skipping" as the
    // migrations run) at INFO: chatter from the database, not the service's news.
    super::init_tracing(config.log_format, "info,tokio_postgres=warn");
    std::fs::create_dir_all(&config.data)
        .with_context(|| format!("cannot create the data directory {}", config.data.display()))?;

    let location = match &config.database_url {
        None => Location::Directory(config.data.clone()),
        Some(url) => Location::Database(url.expose().to_owned()),
    };
    let registry = Registry::open_at(&location, Create::IfMissing, config.registry())
        .with_context(|| format!("cannot open the registry in {location}"))?;
    let registry = Arc::new(registry);
    let welcome = if args.demo {
        Some(demo::prepare(&registry, &config)?)
    } else {
        None
    };
    // Bound before the admin socket opens, so the socket can tell commands the actual address.
    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let listening = listener.local_addr()?;
    // `partseal admin` reaches the running service here; the socket goes when this does. Without
    // it (e.g. a data directory path too long for a socket's name) the service still serves, and
    // admin commands wait for it to stop.
    let local = local_url(listening);
    let _admin = super::admin_socket::listen(&config.data, registry.clone(), local.clone())
        .map_err(|e| tracing::warn!(error = %format!("{e:#}"), "no admin socket"))
        .ok();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let state = AppState::new(config.clone(), registry);
        // Before saying "serving": a SIGTERM from then on stops the service gracefully.
        let shutdown = stopping::on_signal(state.clone());
        if let Some(welcome) = &welcome {
            welcome.print(&local);
        }
        tracing::info!(
            listen = %listening,
            base_url = %config.base_url,
            data = %config.data.display(),
            rate_limit = config.rate_limit,
            "partseal serving"
        );
        verifier::serve(listener, state, shutdown).await?;
        tracing::info!("stopped");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
