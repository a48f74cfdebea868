#!/usr/bin/env bash
# Runs each fuzz target for a bounded time (SECS, default 60). cargo fuzz needs nightly flags; on
# the stable toolchain of these machines RUSTC_BOOTSTRAP=1 allows them. A crash leaves its input in
# fuzz/artifacts/TARGET/: copy it to fuzz/regressions/TARGET/ so tests/it/fuzz_regressions.rs
# replays it in every `cargo test` from then on.
#   cargo install cargo-fuzz && fuzz/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-60}
for target in tokens forms redirects; do
  echo "fuzzing $target for ${SECS}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- -max_total_time="$SECS" -rss_limit_mb=2048
done
