//! The real `partseal` binary, run in a scratch directory: commands that must succeed or fail a
//! given way, a certified maker and a signed batch made with its commands, `partseal serve` in
//! the background, and raw HTTP/1.1 to it.
//!
//! Cargo tells only the root package's integration tests where the binary is, so a test names it:
//!
//! ```no_run
//! use testkit::cli::Partseal;
//!
//! // In a test of the root package: `Partseal::at(env!("CARGO_BIN_EXE_partseal"))`.
//! const PARTSEAL: Partseal = Partseal::at("target/debug/partseal");
//! let tmp = tempfile::tempdir().unwrap();
//! PARTSEAL.certified_batch(tmp.path(), 10);
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// The `partseal` binary at a path (`env!("CARGO_BIN_EXE_partseal")`).
#[derive(Clone, Copy, Debug)]
pub struct Partseal {
    bin: &'static str,
}

impl Partseal {
    pub const fn at(bin: &'static str) -> Partseal {
        Partseal { bin }
    }

    /// A command of the binary in `dir`, without `RUST_LOG` from the test's environment.
    pub fn command(&self, dir: &Path) -> Command {
        let mut command = Command::new(self.bin);
        command.current_dir(dir).env_remove("RUST_LOG");
        command
    }

    /// Runs `partseal args` in `dir` with nothing on its standard input.
    pub fn run(&self, dir: &Path, args: &[&str]) -> Output {
        self.run_with_input(dir, args, None)
    }

    /// Runs `partseal args` in `dir` with `stdin` (if any) on its standard input.
    pub fn run_with_input(&self, dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut child = self
            .command(dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run partseal");
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(stdin.unwrap_or_default()).unwrap();
        drop(pipe);
        child.wait_with_output().unwrap()
    }

    /// Runs a command that must succeed and returns all it printed.
    pub fn ok_output(&self, dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let out = self.run_with_input(dir, args, stdin);
        assert!(
            out.status.success(),
            "partseal {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs a command that must succeed and returns its standard output.
    pub fn ok(&self, dir: &Path, args: &[&str]) -> String {
        String::from_utf8(self.ok_output(dir, args, None).stdout).unwrap()
    }

    /// Runs a command that must exit with `code`, saying `stderr_has` on standard error.
    pub fn fails(&self, dir: &Path, args: &[&str], code: i32, stderr_has: &str) {
        let out = self.run(dir, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "partseal {args:?}: {stderr}");
        assert!(
            stderr.contains(stderr_has),
            "partseal {args:?}: expected {stderr_has:?} in {stderr}"
        );
    }

    /// An authority (`ca/`) and a manufacturer key (`acme.key`) it certified for prefix 690123
    /// (`acme.cert`), as `name`, with manufacturer id `id` if given.
    pub fn certified_maker(&self, dir: &Path, name: &str, id: Option<&str>) {
        self.ok(dir, &["authority", "init", "--out", "ca"]);
        self.ok(dir, &["keys", "generate", "--out", "acme"]);
        let mut certify = vec![
            "authority",
            "certify",
            "--authority",
            "ca",
            "--public-key",
            "acme.pub",
            "--name",
            name,
            "--prefix",
            "690123",
            "--valid-days",
            "365",
            "--out",
            "acme.cert",
        ];
        if let Some(id) = id {
            certify.extend(["--id", id]);
        }
        self.ok(dir, &certify);
    }

    /// An authority, a certified manufacturer `acme` for prefix 690123, and a signed batch of
    /// `count` codes in `batch.jsonl`.
    pub fn certified_batch(&self, dir: &Path, count: u32) {
        self.certified_maker(dir, "广州某某汽车零部件有限公司", None);
        self.ok(
            dir,
            &[
                "sign",
                "--key",
                "acme.key",
                "--cert",
                "acme.cert",
                "--gtin",
                "06901234567892",
                "--lot",
                "L2026A",
                "--count",
                &count.to_string(),
                "--base-url",
                "https://verify.example.cn",
                "--out",
                "batch.jsonl",
            ],
        );
    }

    /// Starts `partseal serve --data data` (and `extra` arguments) on a free port in `dir` and
    /// waits until it serves.
    pub fn serve(&self, dir: &Path, extra: &[&str]) -> Running {
        let mut child = Command::new(self.bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--data", "data"])
            .args(extra)
            .args(["--log-format", "json"])
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut addr = None;
        let mut line = String::new();
        while addr.is_none() {
            line.clear();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "serve exited early"
            );
            if line.contains("partseal serving") {
                let log: serde_json::Value = serde_json::from_str(&line).unwrap();
                addr = log["fields"]["listen"].as_str().map(str::to_owned);
            }
        }
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        // What it prints comes before it starts listening (nothing, without --demo).
        let mut stdout = String::new();
        if extra.contains(&"--demo") {
            let mut out = child.stdout.take().unwrap();
            let mut buf = [0u8; 65536];
            let n = out.read(&mut buf).unwrap();
            stdout.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        Running {
            child,
            stdout,
            addr: addr.unwrap(),
        }
    }
}

impl Partseal {
    /// Starts `partseal serve --listen 127.0.0.1:0` with `args` in `dir`, its logs (text, at the
    /// default level) written to the file `log` there as an operator's service manager would,
    /// and waits until it serves.
    pub fn serve_logged(&self, dir: &Path, args: &[&str], log: &str) -> Logged {
        let path = dir.join(log);
        let file = std::fs::File::create(&path).unwrap();
        let child = self
            .command(dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        let mut serving = Logged {
            child,
            path,
            addr: String::new(),
        };
        let started = std::time::Instant::now();
        loop {
            // Read past colour codes, which are a test's own finding, not a failure to start.
            let text = without_colour(&std::fs::read_to_string(&serving.path).unwrap_or_default());
            // The text format writes `listen=ADDR` after the message.
            let addr = text.find("partseal serving").and_then(|at| {
                text[at..]
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("listen="))
                    .map(str::to_owned)
            });
            if let Some(addr) = addr {
                serving.addr = addr;
                return serving;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "serve did not start: {text}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// `text` without ANSI escape sequences (`ESC [ ... letter`).
fn without_colour(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(char::is_ascii_alphabetic);
        } else {
            out.push(c);
        }
    }
    out
}

/// A `partseal serve` whose logs go to a file; killed when dropped, should a test fail first.
pub struct Logged {
    pub child: Child,
    pub path: std::path::PathBuf,
    pub addr: String,
}

impl Logged {
    /// What it has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap()
    }

    /// Sends it `signal` (`"INT"`, `"TERM"`).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Stops it with SIGTERM, checks it stopped cleanly, and returns all it logged.
    pub fn stop(mut self) -> String {
        self.signal("TERM");
        let exit = self.child.wait().unwrap();
        let log = self.log();
        assert!(
            exit.success(),
            "serve did not stop cleanly: {exit:?}\n{log}"
        );
        log
    }
}

/// A `partseal serve` running in the background.
pub struct Running {
    pub child: Child,
    /// What it printed on standard output before it began serving.
    pub stdout: String,
    pub addr: String,
}

impl Running {
    /// Stops it with SIGTERM, as a service manager would, and checks it stopped cleanly.
    pub fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "serve did not stop cleanly: {exit:?}");
    }
}

/// A minimal HTTP/1.1 GET over a TCP socket, with a bearer token if given: the status code and
/// the body.
pub fn http_get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

/// One HTTP/1.1 request on a fresh connection: the status and body, or `None` if the connection
/// failed or was cut (the server was killed) or no answer came within 10 s: nothing acknowledged.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, &[u8])>,
) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .ok()?;
    let auth = token.map_or(String::new(), |t| format!("authorization: Bearer {t}\r\n"));
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\naccept: application/json\r\n{auth}connection: close\r\n"
    )
    .into_bytes();
    if let Some((kind, bytes)) = body {
        request.extend_from_slice(
            format!(
                "content-type: {kind}\r\ncontent-length: {}\r\n",
                bytes.len()
            )
            .as_bytes(),
        );
        request.extend_from_slice(b"\r\n");
        request.extend_from_slice(bytes);
    } else {
        request.extend_from_slice(b"\r\n");
    }
    stream.write_all(&request).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8(response).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    // A body cut short by the kill is no answer either.
    let length: usize = head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse().ok())?
    })?;
    (body.len() == length).then(|| (status, body.to_owned()))
}
