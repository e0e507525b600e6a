//! The verifier over real HTTP: a server on a port-0 listener over a registry on the test
//! binary's engine ([`start`]: sled in a temporary directory, or a new PostgreSQL database in
//! `*_on_postgres` binaries), stopped gracefully; and signing in to its pages as a browser does
//! ([`sign_in`], [`csrf_of`]).
//!
//! The world on it (an authority, certified makers, parties and their tokens) is made with
//! [`crate::world::certify`], [`crate::world::add_party`] and [`crate::world::token`].

use std::net::SocketAddr;
use std::sync::Arc;

use registry::{Registry, RegistryConfig};
use reqwest::Client;
use signer::BaseUrl;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use verifier::config::Overrides;
use verifier::{AppState, Config};

use crate::engine::{Engine, engine};
use crate::postgres::TestDatabase;

/// A verifier serving on 127.0.0.1 on a port of its own.
pub struct Server {
    pub addr: SocketAddr,
    pub registry: Arc<Registry>,
    pub dir: tempfile::TempDir,
    /// The PostgreSQL database the registry is on (`…_on_postgres` tests).
    pub database: Option<&'static TestDatabase>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// A server with `overrides` on a new registry: sled in a temporary directory, or a new
/// PostgreSQL database.
pub async fn start(overrides: Overrides) -> Server {
    let dir = tempfile::tempdir().unwrap();
    if engine() == Engine::Sled {
        let registry =
            Arc::new(Registry::open(&dir.path().join("data"), RegistryConfig::default()).unwrap());
        return start_on(overrides, registry, dir).await;
    }
    // Kept to the end of the test binary: a server's registry may outlive the test's handle on
    // it, and the database must outlive the registry.
    let database: &'static TestDatabase = Box::leak(Box::new(TestDatabase::create_or_skip()));
    let url = database.url.clone();
    let registry = tokio::task::spawn_blocking(move || {
        Arc::new(Registry::connect(&url, RegistryConfig::default()).unwrap())
    })
    .await
    .unwrap();
    let mut server = start_on(overrides, registry, dir).await;
    server.database = Some(database);
    server
}

/// A server with `overrides` on `registry`, keeping `dir` as long as it runs.
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
        database: None,
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

/// An HTTP client that does not follow redirects, so a test sees each `303`.
pub fn no_redirects() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The CSRF token of the first form in a page.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    html[at..at + 64].to_owned()
}

/// The cookie a response sets, as a request sends it back (`name=value`).
pub fn cookie_of(response: &reqwest::Response) -> String {
    let set = response.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// Signs in through the form `page` shows without a session, with `token`, in English: the
/// session's cookie (`name=value`) and the CSRF token of `page` in it.
pub async fn sign_in(
    client: &Client,
    server: &Server,
    page: &str,
    token: &str,
) -> (String, String) {
    let form = client.get(server.url(page)).send().await.unwrap();
    let signin_cookie = cookie_of(&form);
    let csrf = csrf_of(&form.text().await.unwrap());
    let response = client
        .post(server.url("/signin"))
        .header("cookie", signin_cookie)
        .form(&[("csrf", &csrf[..]), ("token", token), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let cookie = cookie_of(&response);
    let page = client
        .get(server.url(page))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (cookie, csrf_of(&page))
}

/// The shop station's sign-in form: its cookie (`name=value`) and CSRF token.
pub async fn sign_in_form(client: &Client, server: &Server) -> (String, String) {
    let form = client.get(server.url("/shop")).send().await.unwrap();
    let cookie = cookie_of(&form);
    (cookie, csrf_of(&form.text().await.unwrap()))
}
