//! PostgreSQL servers for tests: a new, empty database per test ([`TestDatabase`]) on the run's
//! server ([`server`]), and clusters of a test's own to stop, kill or promote ([`Cluster`]).
//!
//! The run's server is, in this order:
//! 1. the one `PARTSEAL_TEST_DATABASE_URL` names (`.ci/run` starts one with
//!    `scripts/pg-cluster.sh`);
//! 2. where Debian's PostgreSQL server is installed, a throwaway cluster the testkit starts
//!    itself, shared by every test binary of the run and of runs alongside it, and stopped a
//!    minute after the last one is done (`testkit/shared-cluster.sh`);
//! 3. none: with `CI` set the tests fail (CI can never pass without them); otherwise a test
//!    binary whose tests all need PostgreSQL ends at its first one, saying on its standard error
//!    (which the test harness does not capture) how many tests it skipped and how to run them.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Once, OnceLock};

/// The environment variable naming the test server (a URL to a database there that may create
/// databases).
pub const SERVER: &str = "PARTSEAL_TEST_DATABASE_URL";

const PG_CLUSTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg-cluster.sh");
const SHARED_CLUSTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/shared-cluster.sh");

/// Why a run has no server: what the skip line and CI's failure say.
const HOW_TO_RUN: &str = "install Debian's PostgreSQL (apt-get install postgresql \
                          postgresql-client: the tests then start a server of their own) or set \
                          PARTSEAL_TEST_DATABASE_URL to a server's URL (README.md)";

/// The run's server URL (see the module's overview), found once per test binary; `None` where
/// there is none and `CI` is not set.
pub fn server() -> Option<String> {
    static SERVER_URL: OnceLock<Option<String>> = OnceLock::new();
    SERVER_URL.get_or_init(find_server).clone()
}

fn find_server() -> Option<String> {
    if let Ok(url) = std::env::var(SERVER) {
        if !url.is_empty() {
            return Some(url);
        }
    }
    let ci = std::env::var_os("CI").is_some();
    if !installed() {
        assert!(
            !ci,
            "{SERVER} is not set and PostgreSQL's server is not installed, and CI needs the \
             PostgreSQL tests to run: {HOW_TO_RUN}"
        );
        return None;
    }
    match join_shared_cluster() {
        Ok(url) => Some(url),
        Err(e) if ci => panic!("cannot start the tests' PostgreSQL server: {e}"),
        Err(e) => skip_this_binary(&format!(
            "could not start a PostgreSQL server of their own ({e})"
        )),
    }
}

/// Whether Debian's PostgreSQL server binaries (`initdb`, `pg_ctl`) and `psql` are installed.
pub fn installed() -> bool {
    let server = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
        versions
            .filter_map(Result::ok)
            .any(|v| v.path().join("bin/initdb").is_file())
    });
    server && Command::new("psql").arg("--version").output().is_ok()
}

/// Whether a test that starts clusters of its own can run: `true` where PostgreSQL is
/// installed; otherwise it fails under `CI`, or says once on standard error that it is skipped
/// and returns `false`.
pub fn can_start_clusters() -> bool {
    if installed() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "PostgreSQL's server is not installed, and CI needs this test to run: {HOW_TO_RUN}"
    );
    say(&format!(
        "{}: a test skipped: it starts PostgreSQL servers of its own; {HOW_TO_RUN}",
        crate::test_binary()
    ));
    false
}

/// Joins the shared cluster (starting it if need be): its URL.
fn join_shared_cluster() -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!("partseal-test-postgres-{}", user_id()));
    let mut last = String::new();
    // The port was free a moment ago; another process may take it before the server does.
    for _ in 0..3 {
        let out = Command::new("bash")
            .arg(SHARED_CLUSTER)
            .arg("join")
            .arg(&dir)
            .arg(std::process::id().to_string())
            .arg(free_port().to_string())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {SHARED_CLUSTER}: {e}"))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned());
        }
        last = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    }
    Err(format!("{SHARED_CLUSTER} join {}: {last}", dir.display()))
}

/// The user this runs as: the shared cluster is per user (a root run's server runs as
/// `postgres`, another user's as that user).
fn user_id() -> String {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port on 127.0.0.1")
}

/// Says `line` where the test harness does not swallow it: straight to standard error (the
/// harness captures only what tests print through `print!` and `eprint!`).
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "\n{line}");
}

/// Ends this test binary, whose tests all need PostgreSQL, as passed, with one line saying how
/// many tests it skipped, why, and how to run them.
fn skip_this_binary(why: &str) -> ! {
    static ONCE: Once = Once::new();
    // Tests run on several threads: the first one says it and ends the process; the others wait.
    ONCE.call_once(|| {
        let binary = crate::test_binary();
        let count = match test_count() {
            Some(1) => String::from("1 PostgreSQL test"),
            Some(n) => format!("{n} PostgreSQL tests"),
            None => String::from("its PostgreSQL tests"),
        };
        say(&format!(
            "{binary}: skipped {count}: {why}; to run them, {HOW_TO_RUN}."
        ));
        std::process::exit(0);
    });
    unreachable!("the first test to skip ends the process")
}

/// How many tests this test binary holds, as it lists them.
fn test_count() -> Option<usize> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe)
        .args(["--list", "--format", "terse"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let listed = String::from_utf8_lossy(&out.stdout);
    Some(listed.lines().filter(|l| l.ends_with(": test")).count())
}

/// A new, empty database on the run's server, dropped (with its connections) when this is.
pub struct TestDatabase {
    /// The new database's URL.
    pub url: String,
    name: String,
    server: String,
}

impl TestDatabase {
    /// A new, empty database; without a server (outside CI), ends this test binary, whose tests
    /// all need one, as skipped (see the module's overview).
    pub fn create_or_skip() -> TestDatabase {
        match Self::create() {
            Some(database) => database,
            None => skip_this_binary(&format!(
                "{SERVER} is not set and PostgreSQL's server is not installed"
            )),
        }
    }

    /// A new, empty database, or `None` where there is no server (see [`server`]).
    pub fn create() -> Option<TestDatabase> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let server = server()?;
        let name = format!(
            "partseal_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |t| t.subsec_nanos())
        );
        psql(&server, &format!("CREATE DATABASE {name}"));
        Some(TestDatabase {
            url: with_database(&server, &name),
            name,
            server,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                self.server.as_str(),
                "-qAtc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

/// Runs `sql` on the database at `url`, as another client, and returns what it printed (one value
/// a line, trimmed); panics with psql's message if it fails.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .expect("psql runs (package postgresql-client)");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The URL of database `name` on the server at `server`.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (server, String::new()),
    };
    let slash = base
        .rfind('/')
        .filter(|&i| i > "postgres://".len())
        .unwrap_or(base.len());
    format!("{}/{name}{query}", &base[..slash])
}

/// A PostgreSQL cluster of a test's own (`scripts/pg-cluster.sh`) in a temporary directory, on a
/// free loopback port: for tests that stop, kill or promote a server, which the shared one must
/// never be. Stopped when dropped, also when the test fails.
pub struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    /// A new cluster, started.
    pub fn start() -> Cluster {
        let cluster = Cluster::new();
        cluster.script(&["start", &cluster.cluster_dir(), &cluster.port.to_string()]);
        cluster
    }

    /// A synchronous streaming standby of `primary`, started under `application_name` `name`:
    /// from now on the primary waits for it on every commit.
    pub fn standby_of(primary: &Cluster, name: &str) -> Cluster {
        let cluster = Cluster::new();
        cluster.script(&[
            "standby",
            &cluster.cluster_dir(),
            &cluster.port.to_string(),
            &primary.port.to_string(),
            name,
        ]);
        cluster
    }

    fn new() -> Cluster {
        let dir = tempfile::tempdir().expect("a temporary directory");
        // The server runs as `postgres` (when the test runs as root): it must reach its directory.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .expect("the cluster's directory opened to the server's user");
        }
        Cluster {
            dir,
            port: free_port(),
        }
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs `sql` on its `postgres` database (see [`psql`]).
    pub fn psql(&self, sql: &str) -> String {
        psql(&self.url(), sql)
    }

    /// Stops it (fast shutdown); [`Cluster::resume`] starts it again.
    pub fn stop(&self) {
        self.script(&["stop", &self.cluster_dir()]);
    }

    /// Starts it again on the same port.
    pub fn resume(&self) {
        self.script(&["resume", &self.cluster_dir(), &self.port.to_string()]);
    }

    /// Makes this standby a primary.
    pub fn promote(&self) {
        self.script(&["promote", &self.cluster_dir()]);
    }

    /// SIGKILL to its postmaster, as a crash would: its server processes exit when they notice.
    pub fn kill(&self) {
        let pid = std::fs::read_to_string(self.dir.path().join("cluster/data/postmaster.pid"))
            .expect("the postmaster's pid file");
        let pid = pid.lines().next().unwrap_or_default();
        let status = Command::new("kill")
            .args(["-KILL", pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -KILL {pid}");
    }

    /// Where `pg-cluster.sh` keeps the cluster (its data, log and socket).
    fn cluster_dir(&self) -> String {
        self.dir.path().join("cluster").display().to_string()
    }

    fn script(&self, args: &[&str]) {
        let out = Command::new("bash")
            .arg(PG_CLUSTER)
            .args(args)
            .output()
            .expect("run scripts/pg-cluster.sh");
        assert!(
            out.status.success(),
            "pg-cluster.sh {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // A killed server's stop fails (nothing to stop): tried regardless.
        let _ = Command::new("bash")
            .arg(PG_CLUSTER)
            .args(["stop", &self.cluster_dir()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
