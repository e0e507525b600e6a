//! A real server on a port-0 listener over a real registry in a temporary directory, and the
//! parties a story needs.

#![allow(clippy::unwrap_used, dead_code)]

pub mod browser;

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
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub async fn start(overrides: Overrides) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let registry =
        Arc::new(Registry::open(&dir.path().join("data"), RegistryConfig::default()).unwrap());
    start_on(overrides, registry, dir).await
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
