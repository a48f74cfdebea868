#!/usr/bin/env bash
# Runs each fuzz target for a bounded time (SECS, default 60). cargo fuzz needs nightly flags; on
# the stable toolchain of these machines RUSTC_BOOTSTRAP=1 allows them. A crash leaves its input in
# fuzz/artifacts/TARGET/: copy it to fuzz/regressions/TARGET/ so tests/it/fuzz_regressions.rs
# replays it in every `cargo test` from then on.
# The bodies target starts from the committed seeds in fuzz/seeds/bodies/ (one per POST route
# shape), which tests/it/bodies.rs also mutates on every `cargo test`.
#   cargo install cargo-fuzz && fuzz/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-60}
for target in tokens forms redirects bodies heads; do
  echo "fuzzing $target for ${SECS}s"
  corpus=(fuzz/corpus/"$target")
  [ -d fuzz/seeds/"$target" ] && corpus+=(fuzz/seeds/"$target")
  mkdir -p "${corpus[0]}"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "${corpus[@]}" -- -max_total_time="$SECS" -rss_limit_mb=2048
done
