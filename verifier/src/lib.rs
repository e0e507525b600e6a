//! The verifier service: the public verification that phones reach through QR codes, and the
//! authenticated API through which parties record what happens to parts.
//!
//! [`router`] builds every route with its middleware over one [`AppState`]; [`serve`] runs it on an
//! already-bound listener until a shutdown future resolves, so tests bind port 0 and never sleep.
//!
//! | module | what lives there |
//! |---|---|
//! | [`config`] | defaults, TOML file, `PARTSEAL_*` environment, flags |
//! | [`server`] | the router and its middleware (load shedding, timeouts, rate limit, metrics, tracing); shutdown |
//! | [`route_list`] | every (method, path) served, as data the router, metrics and tests read |
//! | `connection` | the accept loop: per-address connection caps, header and idle timeouts |
//! | [`routes`] | handlers, one module per audience: `public` (no login), `api` (parties), `ops`, `log` (the transparency log's checkpoint, key and tiles); `named_code`: how a request names a code (URI or typed numbers); `carton_events`: the event requests naming a carton; `assets`: the station's scripts, compiled in; `resolver`: GS1 resolver answers on the Digital Link routes (linksets, `linkType`) |
//! | [`error`] | RFC 9457 problem responses with stable codes; the one mapping of registry refusals to them |
//! | [`local_time`] | times on pages in the deployment's time zone (`time_zone`) |
//! | [`rate_limit`], [`client_ip`] | per-client buckets for public routes; trusted-proxy handling |
//! | [`metrics`] | Prometheus metrics |
//! | [`verdict`] | the fixed set of verdicts and how a scan earns one |
//! | [`typed_input`] | hand-typed GTIN and serial made lookup-ready: padding, grouping, pasted AIs |
//! | [`auth`] | bearer tokens for the parties' API |
//! | [`manifest_upload`] | a manifest registered as it streams in, for the API and the dashboard |
//! | [`scan_writer`] | the thread that writes counted public scans to the store |
//! | [`log_sequencer`] | the thread that sequences the transparency log once a second; the log's origin |
//! | [`log_witnesses`] | the task that sends checkpoints to the log's witnesses; their cosignatures, and which checkpoint is served |
//! | [`witness_server`] | a witness of transparency logs (`partseal witness`): tlog-witness's routes, its state on disk |
//! | [`pages`] | the pages people see: the owner's page, the shop's station, the maker's dashboard |
//! | [`openapi`] | the OpenAPI 3.1 description served at `/openapi.json`, generated from the handlers |
//! | [`schemas`] | answers many operations share, shapes of `json!` answers, input enums |
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! let config = verifier::Config::resolve([]).expect("defaults are valid");
//! let registry = registry::Registry::open(&config.data, registry::RegistryConfig::default())?;
//! let listener = tokio::net::TcpListener::bind(config.listen).await?;
//! let state = verifier::AppState::new(config, Arc::new(registry));
//! verifier::serve(listener, state, verifier::server::shutdown_signal()).await?;
//! # Ok(())
//! # }
//! ```

pub mod auth;
pub mod client_ip;
pub mod config;
mod connection;
pub mod error;
pub mod local_time;
pub mod log_sequencer;
pub mod log_witnesses;
pub mod manifest_upload;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod rate_limit;
pub mod reports;
pub mod route_list;
pub mod routes;
pub mod scan_writer;
pub mod schemas;
pub mod server;
pub mod state;
pub mod typed_input;
pub mod verdict;
pub mod witness_server;

pub use config::Config;
pub use error::ApiError;
pub use server::{router, serve};
pub use state::AppState;
