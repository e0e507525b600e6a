//! A real server on a port-0 listener over a real registry in a temporary directory, and the
//! parties a story needs.

#![allow(clippy::unwrap_used, dead_code)]

pub mod browser;
#[path = "../../../registry/tests/common/postgres.rs"]
pub mod postgres;

use std::net::SocketAddr;
use std::sync::Arc;

use registry::{Party, PartyId, Registry, RegistryConfig, Role};
use signer::{BaseUrl, Certificate, CertificateBody, CompanyPrefix, SigningKey, Timestamp, keys};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use verifier::config::Overrides;
use verifier::{AppState, Config};

pub struct Server {
    pub addr: SocketAddr,
    pub registry: Arc<Registry>,
    pub dir: tempfile::TempDir,
    /// The PostgreSQL database the registry is on (`…_on_postgres` tests).
    pub database_url: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// This test crate's engine: PostgreSQL for the `…_on_postgres` test files, which include the
/// sled ones (one suite, two engines).
pub fn on_postgres() -> bool {
    env!("CARGO_CRATE_NAME").ends_with("_on_postgres")
}

/// A server on a new registry: sled in a temporary directory, or a new PostgreSQL database.
pub async fn start(overrides: Overrides) -> Server {
    let dir = tempfile::tempdir().unwrap();
    if !on_postgres() {
        let registry =
            Arc::new(Registry::open(&dir.path().join("data"), RegistryConfig::default()).unwrap());
        return start_on(overrides, registry, dir).await;
    }
    // Kept to the end of the test binary (a throwaway cluster's): a server's registry may outlive
    // the test's handle on it.
    let database = Box::leak(Box::new(postgres::TestDatabase::create_or_skip()));
    let url = database.url.clone();
    let registry = tokio::task::spawn_blocking({
        let url = url.clone();
        move || Arc::new(Registry::connect(&url, RegistryConfig::default()).unwrap())
    })
    .await
    .unwrap();
    let mut server = start_on(overrides, registry, dir).await;
    server.database_url = Some(url);
    server
}

/// The registry again, as the next start of the process would open it.
pub fn reopen(dir: &std::path::Path, database_url: Option<&str>) -> Registry {
    match database_url {
        None => Registry::open(&dir.join("data"), RegistryConfig::default()).unwrap(),
        Some(url) => Registry::connect(url, RegistryConfig::default()).unwrap(),
    }
}

pub async fn start_on(
    overrides: Overrides,
    registry: Arc<Registry>,
    dir: tempfile::TempDir,
) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = Overrides {
        base_url: Some(format!("http://{addr}")),
        ..Overrides::default()
    };
    let config = Config::resolve([base, overrides]).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let state = AppState::new(config, registry.clone());
    let task = tokio::spawn(verifier::serve(listener, state, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        registry,
        dir,
        database_url: None,
        stop: Some(stop),
        task,
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn base(&self) -> BaseUrl {
        BaseUrl::parse(&format!("http://{}", self.addr)).unwrap()
    }

    /// Stops the server gracefully and waits until it has.
    pub async fn shutdown(mut self) -> (Arc<Registry>, tempfile::TempDir) {
        self.stop.take().unwrap().send(()).unwrap();
        self.task.await.unwrap().unwrap();
        (self.registry, self.dir)
    }

    pub fn begin_shutdown(&mut self) {
        self.stop.take().unwrap().send(()).unwrap();
    }

    /// Waits for a shutdown [`Server::begin_shutdown`] started, and for the blocking work of
    /// requests whose clients went away to let go of the store (as a process exit would).
    pub async fn shutdown_after_begin(self) -> (Arc<Registry>, tempfile::TempDir) {
        self.task.await.unwrap().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while Arc::strong_count(&self.registry) > 1 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        (self.registry, self.dir)
    }
}

/// An authority and a certified manufacturer, trusted by the registry as `partseal admin` sets up.
pub struct Maker {
    pub id: PartyId,
    pub key: SigningKey,
    pub cert: Certificate,
}

pub fn now() -> Timestamp {
    Timestamp::now()
}

pub fn certify(
    registry: &Registry,
    authority: &SigningKey,
    id: &str,
    prefix: &str,
    serial: u64,
) -> Maker {
    let key = keys::generate();
    let cert = Certificate::issue(
        CertificateBody {
            serial,
            manufacturer_id: id.into(),
            legal_name: format!("{id} 汽车零部件有限公司"),
            public_key: key.verifying_key(),
            prefixes: vec![CompanyPrefix::parse(prefix).unwrap()],
            not_before: now().plus_days(-1),
            not_after: now().plus_days(365),
        },
        authority,
    )
    .unwrap();
    registry.add_root(authority.verifying_key(), now()).unwrap();
    registry.add_certificate(cert.clone(), now()).unwrap();
    add_party(registry, id, Role::Manufacturer, "Guangdong");
    Maker {
        id: PartyId::parse(id).unwrap(),
        key,
        cert,
    }
}

pub fn add_party(registry: &Registry, id: &str, role: Role, region: &str) {
    registry
        .add_party(Party {
            id: PartyId::parse(id).unwrap(),
            role,
            name: format!("{id} Co."),
            region: Some(region.into()),
            created_at: now().plus_days(-1),
            revoked_at: None,
        })
        .unwrap();
}

pub fn token(registry: &Registry, id: &str) -> String {
    registry
        .issue_token(&PartyId::parse(id).unwrap(), None, now().plus_days(-1))
        .unwrap()
        .reveal()
        .to_owned()
}
