#!/usr/bin/env bash
# Builds every fuzz target in fuzz/ and runs each for SECONDS (default 60), one after the other.
#
#   scripts/fuzz.sh [SECONDS]            (FUZZ_BUILD=dev for an unoptimised, faster-to-build run)
# Needs cargo-fuzz (`cargo install --locked cargo-fuzz`); runs on the stable toolchain through
# RUSTC_BOOTSTRAP=1 (cargo-fuzz passes flags stable rustc keeps for nightly). Corpora are kept in
# fuzz/corpus/<target> between runs; a crash stops the script with the input in
# fuzz/artifacts/<target>/ and exits non-zero. Prints executions per target at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
export RUSTC_BOOTSTRAP=1
# Its own target directory: the instrumented build shares nothing with the workspace's.
export CARGO_TARGET_DIR="$PWD/fuzz/target"

# No sanitizer: the project's crates forbid `unsafe`, so what a target looks for is a panic, a
# failed round-trip assertion, an overflow (debug assertions are on), a hang or runaway memory;
# AddressSanitizer would double the build and slow every execution for little more.
# FUZZ_BUILD=dev builds without optimisation: a third of the build time from nothing, fewer
# executions a second; CI's short smoke run takes it, a long local run keeps the default.
if [ "${FUZZ_BUILD:-release}" = dev ]; then
    flags=(--dev --sanitizer none)
else
    flags=(--release --debug-assertions --sanitizer none)
fi
cargo fuzz build "${flags[@]}"
targets=$(cargo fuzz list)
summary=""
for target in $targets; do
    mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
    log="fuzz/artifacts/$target/last-run.log"
    echo "fuzzing $target for ${seconds}s"
    # -rss_limit_mb bounds memory; -max_len keeps inputs near the size of real ones (a manifest
    # line is at most 8 KiB; a backup input covers a few records).
    if ! cargo fuzz run "${flags[@]}" "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -max_len=16384 -rss_limit_mb=2048 \
        -artifact_prefix="fuzz/artifacts/$target/" >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    runs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || echo '?')
    summary+="$target: $runs executions in ${seconds}s"$'\n'
done
printf '%s' "$summary"
