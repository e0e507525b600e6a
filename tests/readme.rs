//! The README's shell blocks, run in order as a reader pastes them, with the built binary on the
//! `PATH`, so the walk-through cannot drift from what the commands do.
//!
//! Each ```` ```bash ```` block runs in one `bash` in a scratch directory shared by the blocks. A
//! command whose comment ends in `exit N` must exit with `N`, every other command with 0. The word
//! after `bash` in a fence's info string says what a block needs (Markdown renderers read only the
//! first word, so readers see plain bash):
//!
//! - `skip`: not run here (it builds or tests this workspace);
//! - `serve`: `partseal serve --data partseal-data` running in that directory, as the README asks
//!   the reader to start it in another terminal;
//! - `demo`: run in a directory of its own where `partseal serve --demo` runs, started before the
//!   first such block and kept for the next.
//!
//! The service listens on a free port instead of 8080 (other tests run beside this one); the
//! blocks' `127.0.0.1:8080` is replaced by it.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_partseal");
const README_PORT: &str = "127.0.0.1:8080";

/// What a block needs to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Needs {
    Nothing,
    Skip,
    Serve,
    Demo,
}

/// One fenced shell block of the README.
struct Block {
    /// 1-based line of its opening fence.
    line: usize,
    needs: Needs,
    /// Its lines, each with its 1-based line number in the README.
    lines: Vec<(usize, String)>,
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for (i, text) in readme.lines().enumerate() {
        let line = i + 1;
        match (&mut current, text.strip_prefix("```")) {
            (Some(_), Some("")) => blocks.extend(current.take()),
            (Some(block), _) => block.lines.push((line, text.to_owned())),
            (None, Some(info)) => {
                let mut words = info.split_whitespace();
                if !matches!(words.next(), Some("bash" | "sh" | "shell")) {
                    // Another language's block: its lines are skipped up to its closing fence.
                    current = Some(Block {
                        line,
                        needs: Needs::Skip,
                        lines: Vec::new(),
                    });
                    continue;
                }
                let needs = match words.next() {
                    None => Needs::Nothing,
                    Some("skip") => Needs::Skip,
                    Some("serve") => Needs::Serve,
                    Some("demo") => Needs::Demo,
                    Some(other) => panic!("README line {line}: unknown block marker {other:?}"),
                };
                current = Some(Block {
                    line,
                    needs,
                    lines: Vec::new(),
                });
            }
            (None, None) => {}
        }
    }
    assert!(current.is_none(), "README: a fenced block is not closed");
    blocks
}

/// One command of a block (continuation lines joined) and the exit it must end with.
struct Step {
    line: usize,
    command: String,
    exit: i32,
}

fn steps(block: &Block) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (line, text) in &block.lines {
        let (start, mut command) = pending.take().unwrap_or((*line, String::new()));
        if command.is_empty() && (text.trim().is_empty() || text.trim_start().starts_with('#')) {
            continue;
        }
        if let Some(continued) = text.strip_suffix('\\') {
            command.push_str(continued);
            pending = Some((start, command));
            continue;
        }
        command.push_str(text);
        steps.push(Step {
            line: start,
            exit: expected_exit(&command),
            command,
        });
    }
    assert!(
        pending.is_none(),
        "README line {}: a command ends in a backslash",
        block.line
    );
    steps
}

/// `N` from a trailing comment ending in `exit N` (the README's comments are set off by two or
/// more spaces), else 0.
fn expected_exit(command: &str) -> i32 {
    command
        .rfind("  #")
        .map(|at| command[at..].trim_end())
        .and_then(|comment| comment.rsplit_once("exit "))
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

/// The block as a bash script that stops at the first command ending otherwise than the README
/// says, naming its line.
fn script(block: &Block, address: Option<&str>) -> String {
    let mut script = String::new();
    for step in steps(block) {
        let command = match address {
            Some(address) => step.command.replace(README_PORT, address),
            None => step.command.clone(),
        };
        script.push_str(&format!(
            "{command}\nrc=$?; if [ $rc -ne {exit} ]; then echo \"README line {line}: exit $rc, \
             expected {exit}\" >&2; exit 99; fi\n",
            exit = step.exit,
            line = step.line,
        ));
    }
    script
}

fn run_block(dir: &Path, block: &Block, address: Option<&str>) {
    // Every `curl` of the README fails on an HTTP error answer, so a refused request fails its
    // block as a failed command does (the README's own commands stay as a reader types them).
    let curl_home = tempfile::tempdir().unwrap();
    std::fs::write(curl_home.path().join(".curlrc"), "fail-with-body\n").unwrap();
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(script(block, address))
        .current_dir(dir)
        .env("PATH", path)
        .env("CURL_HOME", curl_home.path())
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "README block at line {} failed:\n--- stdout\n{}\n--- stderr\n{}",
        block.line,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `partseal serve` started in `dir` on a free port, stopped (SIGTERM) when dropped.
struct Service {
    child: Child,
    address: String,
}

impl Service {
    fn start(dir: &Path, args: &[&str]) -> Service {
        // A free port, given back just before the service takes it: its base URL (which the demo
        // signs its codes for) must name the port it listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(args)
            .args(["--listen", &address, "--log-format", "json"])
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "partseal serve {args:?} exited before serving"
            );
            if line.contains("partseal serving") {
                break;
            }
        }
        // Keep draining what it writes so it never blocks on a full pipe.
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stdout.read_to_end(&mut sink);
        });
        Service { child, address }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

#[test]
fn the_readme_blocks_run_in_order_as_written() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let blocks = blocks(&readme);
    let walkthrough = tempfile::tempdir().unwrap();
    let demo_dir = tempfile::tempdir().unwrap();
    let mut demo: Option<Service> = None;
    let mut ran = 0;
    for block in &blocks {
        match block.needs {
            Needs::Skip => continue,
            Needs::Nothing => run_block(walkthrough.path(), block, None),
            Needs::Serve => {
                let service = Service::start(walkthrough.path(), &["--data", "partseal-data"]);
                run_block(walkthrough.path(), block, Some(&service.address));
            }
            Needs::Demo => {
                let service =
                    demo.get_or_insert_with(|| Service::start(demo_dir.path(), &["--demo"]));
                run_block(demo_dir.path(), block, Some(&service.address));
            }
        }
        ran += 1;
    }
    assert!(
        ran >= 5,
        "only {ran} README blocks ran: are the fences still ```bash?"
    );
}

#[test]
fn an_exit_comment_sets_the_expected_exit() {
    assert_eq!(expected_exit("partseal verify x   # GENUINE, exit 0"), 0);
    assert_eq!(expected_exit("partseal verify x  # forged, exit 1"), 1);
    assert_eq!(expected_exit("partseal labels --out a.pdf"), 0);
    assert_eq!(expected_exit("echo '#exit 3'"), 0);
}
