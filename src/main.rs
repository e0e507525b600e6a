//! `partseal`: the command line. It parses arguments, sets up logging and calls into the libraries;
//! the work itself lives in the workspace crates (see ARCHITECTURE.md).

use std::process::ExitCode;

use clap::Parser;

mod commands;

/// mimalloc: under load glibc's allocator took ~13% of the verifier's CPU (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = commands::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
