#!/usr/bin/env bash
# The rerunnable benchmark of docs/PERFORMANCE.md (issue 6). Builds release, starts the server on a
# temporary database (throttles off: the load comes from one address), seeds users, and runs each
# scenario against a baseline measured in the same run:
#   me (JWT), me (PAT), token (client_credentials) ..... / a bare handler on the same serving loop
#   token-resource (client_credentials, ES256) ......... / token (HS256) on the same server
#   me (JWT), token, and me's p99 in a login flood ..... / upstream rouille 3.6's own server (tiny_http,
#                                                          a pool of 8 or 32 threads, the better) answering
#                                                          the same request with a constant JSON body
#   login .............................................. / raw PBKDF2 hashes per second on all cores
#   refresh (durability full and normal) ............... / raw SQLite rotations per second, same sync
#   me during a login flood ............................ p99 / me's p99 without one
#   mixed (90% me, 8% refresh, 2% login) ............... req/s, p99, and the server's RSS with 100k users
#   growth: REFRESHES (default 1,000,000) more refreshes . RSS and row counts after (30 s rounds, 600 s at most)
#   mail: users import of MAIL_ROWS (10,000) rows, then ... messages/s until the SMTP sink (aiosmtpd) has
#         every one, / the sink's raw acceptance rate (a plain smtplib loop of 2,000 messages on one
#         connection, run before and after; the better); and the import's time
# Each figure is the median of RUNS runs of SECS seconds. A ratio is paired: its baseline runs right
# before the scenario in each of the RUNS rounds, and the ratio is the median of the rounds' ratios
# (the machine drifts by a quarter within an hour). Writes docs/PERFORMANCE.md. About 12 min in all
# on 2 cores; REFRESHES=0 skips the growth run.
#
#   examples/bench.sh                 # SECS=5 RUNS=3 THREADS=64
#   SECS=10 RUNS=3 examples/bench.sh  # the issue's reference setting
#   BENCH=mail examples/bench.sh      # only the mail scenario, printed (docs/PERFORMANCE.md untouched)
set -euo pipefail
# A failing loadgen inside $(...) must stop the run, not turn into a ratio of 0.00.
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
SECS=${SECS:-5}
RUNS=${RUNS:-3}
THREADS=${THREADS:-64}
ITER=${ITER:-600000}
WORKERS=${WORKERS:-32}
PASSWORD=bench-password-42
OUT=${OUT:-docs/PERFORMANCE.md}

cargo build --release --quiet --bin gharart-id --example loadgen
BIN=target/release/gharart-id
LG=target/release/examples/loadgen
DIR=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$DIR"; }
trap cleanup EXIT

# start_server NAME [FLAGS...]: a server on a fresh database; sets ADDR and SPID.
start_server() {
  local name=$1; shift
  MIMALLOC_ALLOW_THP=0 "$BIN" serve --db "$DIR/$name.db" --listen 127.0.0.1:0 --throttle off --pbkdf2-iterations "$ITER" \
    --workers "$WORKERS" "$@" > "$DIR/$name.out" 2> "$DIR/$name.err" &
  SPID=$!; PIDS+=("$SPID")
  for _ in $(seq 1 100); do grep -q listening "$DIR/$name.out" 2>/dev/null && break; sleep 0.1; done
  ADDR=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$DIR/$name.out")
}

# median_of CMD...: runs a loadgen command RUNS times; prints the run with the median req/s.
median_of() {
  for _ in $(seq 1 "$RUNS"); do "$@"; done | sort -t' ' -k4 -g | sed -n "$(( (RUNS + 1) / 2 ))p"
}
field() { sed -n "s|.* $1 \([^ ]*\).*|\1|p" <<< " $2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
median() { sort -g | sed -n "$(( (RUNS + 1) / 2 ))p"; }

# summary LINES RATIOS BASELINES (one per line each): the median run, then `pair_ratio` and
# `ceiling`, the medians of the rounds' ratios and baselines.
summary() {
  echo "$(printf '%s' "$1" | sort -t' ' -k4 -g | sed -n "$(( (RUNS + 1) / 2 ))p") pair_ratio $(printf '%s' "$2" | median) ceiling $(printf '%s' "$3" | median)"
}

# pair CEILING SCENARIO [flags...]: RUNS rounds of the bare handler answering the scenario's own
# request, then the server, back to back. Prints the scenario's median run, then `pair_ratio`
# (the median of the rounds' ratios: the machine drifts between rounds, less within one) and
# `ceiling` (the median bare rate).
pair() {
  local ceil=$1 scen=$2; shift 2
  local runs="" ratios="" ceilings="" c r
  for _ in $(seq 1 "$RUNS"); do
    c=$("$LG" run --addr "$BARE_ADDR" --scenario "$ceil" --threads "$THREADS" --secs "$SECS" "$@")
    r=$("$LG" run --addr "$ADDR" --scenario "$scen" --threads "$THREADS" --secs "$SECS" "$@")
    runs+="$r"$'\n'
    ratios+="$(ratio "$(field 'req/s' "$r")" "$(field 'req/s' "$c")")"$'\n'
    ceilings+="$(field 'req/s' "$c")"$'\n'
  done
  summary "$runs" "$ratios" "$ceilings"
}

# pair_scenarios BASE SCENARIO [flags...]: as `pair`, with the server itself answering BASE as
# the baseline of each round (token-resource to token: what the ES256 signature costs).
pair_scenarios() {
  local base=$1 scen=$2; shift 2
  local runs="" ratios="" ceilings="" c r
  for _ in $(seq 1 "$RUNS"); do
    c=$("$LG" run --addr "$ADDR" --scenario "$base" --threads "$THREADS" --secs "$SECS" "$@")
    r=$("$LG" run --addr "$ADDR" --scenario "$scen" --threads "$THREADS" --secs "$SECS" "$@")
    runs+="$r"$'\n'
    ratios+="$(ratio "$(field 'req/s' "$r")" "$(field 'req/s' "$c")")"$'\n'
    ceilings+="$(field 'req/s' "$c")"$'\n'
  done
  summary "$runs" "$ratios" "$ceilings"
}

# pair_upstream CEILING SCENARIO [flags...]: as `pair`, against upstream rouille: each round runs
# the scenario's own request on the pool-8 and the pool-32 upstream server and takes the better.
pair_upstream() {
  local ceil=$1 scen=$2; shift 2
  local runs="" ratios="" ceilings="" c8 c32 c r
  for _ in $(seq 1 "$RUNS"); do
    c8=$("$LG" run --addr "$UP8_ADDR" --scenario "$ceil" --threads "$THREADS" --secs "$SECS" "$@")
    c32=$("$LG" run --addr "$UP32_ADDR" --scenario "$ceil" --threads "$THREADS" --secs "$SECS" "$@")
    c=$(awk -v a="$(field 'req/s' "$c8")" -v b="$(field 'req/s' "$c32")" 'BEGIN { print (a > b ? a : b) }')
    r=$("$LG" run --addr "$ADDR" --scenario "$scen" --threads "$THREADS" --secs "$SECS" "$@")
    runs+="$r"$'\n'
    ratios+="$(ratio "$(field 'req/s' "$r")" "$c")"$'\n'
    ceilings+="$c"$'\n'
  done
  summary "$runs" "$ratios" "$ceilings"
}

# pair_raw NAME SCENARIO THREADS BASELINE...: as `pair`, with a raw baseline (the loadgen
# subcommand BASELINE..., its figure NAME) run right before each round of SCENARIO on $ADDR: the
# hash rate for login, the rotation rate for refresh. Measured once at the start, a baseline
# drifted with the machine for minutes before the scenario it divides.
pair_raw() {
  local name=$1 scen=$2 threads=$3; shift 3
  local runs="" ratios="" bases="" b r
  for _ in $(seq 1 "$RUNS"); do
    b=$("$LG" "$@")
    b=$(field "$name" "$b")
    r=$("$LG" run --addr "$ADDR" --scenario "$scen" --threads "$threads" --secs "$SECS" --password "$PASSWORD")
    runs+="$r"$'\n'
    ratios+="$(ratio "$(field 'req/s' "$r")" "$b")"$'\n'
    bases+="$b"$'\n'
  done
  summary "$runs" "$ratios" "$bases"
}

# mail_scenario: prints "raw R mail M ratio Q import_secs I deliver_secs D" (R, M: messages/s).
MAIL_ROWS=${MAIL_ROWS:-10000}
mail_scenario() {
  mkdir -p "$DIR/sink"
  python3 tests/smtp/sink.py --dir "$DIR/sink" > "$DIR/sink.out" &
  PIDS+=("$!")
  for _ in $(seq 1 100); do grep -q PORT "$DIR/sink.out" 2>/dev/null && break; sleep 0.1; done
  local port; port=$(sed -n 's/^PORT //p' "$DIR/sink.out")
  local raw; raw=$(python3 tests/smtp/blast.py 127.0.0.1 "$port" 2000)
  local base; base=$(ls "$DIR/sink" | grep -c '\.eml$')
  start_server mail --smtp-url "smtp://127.0.0.1:$port" --issuer https://id.gharart.test
  python3 -c "import sys; [print(f'crew{i},crew{i}@gharart.test') for i in range(int(sys.argv[1]))]" "$MAIL_ROWS" > "$DIR/crew.csv"
  local t0 t1 t2
  t0=$(date +%s.%N)
  "$BIN" users import --db "$DIR/mail.db" "$DIR/crew.csv" > /dev/null
  t1=$(date +%s.%N)
  local want=$(( base + MAIL_ROWS ))
  for _ in $(seq 1 6000); do
    (( $(ls "$DIR/sink" | grep -c '\.eml$') >= want )) && break
    sleep 0.1
  done
  t2=$(date +%s.%N)
  local got=$(( $(ls "$DIR/sink" | grep -c '\.eml$') - base ))
  (( got >= MAIL_ROWS )) || { echo "the sink got $got of $MAIL_ROWS messages" >&2; exit 1; }
  local line
  line=$(awk -v raw="$(field rate "$raw")" -v n="$MAIL_ROWS" -v t0="$t0" -v t1="$t1" -v t2="$t2" \
    'BEGIN { m = n / (t2 - t0); printf "raw %.0f mail %.0f ratio %.2f import_secs %.1f deliver_secs %.1f\n", raw, m, m / raw, t1 - t0, t2 - t0 }')
  kill "$SPID" 2>/dev/null || true
  # The raw rate again after the server's run; the better of the two is the baseline.
  local raw2; raw2=$(python3 tests/smtp/blast.py 127.0.0.1 "$port" 2000)
  awk -v line="$line" -v a="$(field rate "$raw")" -v b="$(field rate "$raw2")" -v m="$(field mail "$line")" \
    'BEGIN { r = (a > b ? a : b); sub(/^raw [^ ]* mail [^ ]* ratio [^ ]*/, sprintf("raw %.0f mail %.0f ratio %.2f", r, m, m / r), line); print line }'
}

if [ "${BENCH:-}" = mail ]; then
  mail_scenario
  exit 0
fi

echo "baselines…"
"$LG" bare --listen 127.0.0.1:0 --workers "$WORKERS" > "$DIR/bare.out" &
PIDS+=("$!"); sleep 0.5
BARE_ADDR=$(sed -n 's/.*http:\/\/\(.*\)/\1/p' "$DIR/bare.out")
BARE=$(median_of "$LG" run --addr "$BARE_ADDR" --scenario bare --threads "$THREADS" --secs "$SECS")
"$LG" upstream --listen 127.0.0.1:0 --pool 8 > "$DIR/up8.out" &
PIDS+=("$!")
"$LG" upstream --listen 127.0.0.1:0 --pool 32 > "$DIR/up32.out" &
PIDS+=("$!"); sleep 0.5
UP8_ADDR=$(sed -n 's/.*http:\/\/\(.*\)/\1/p' "$DIR/up8.out")
UP32_ADDR=$(sed -n 's/.*http:\/\/\(.*\)/\1/p' "$DIR/up32.out")

echo "server (durability full)…"
start_server full --resource https://mcp.bench.example
"$LG" seed --db "$DIR/full.db" --users 100000 --password "$PASSWORD" --iterations "$ITER" > /dev/null
login_body="{\"login\":\"bench1\",\"password\":\"$PASSWORD\"}"
TOKEN=$(curl -s -X POST "http://$ADDR/v2/auth/login" -H 'Content-Type: application/json' -d "$login_body" | sed -n 's/.*"accessToken":"\([^"]*\)".*/\1/p')
PAT=$(curl -s -X POST "http://$ADDR/v2/auth/tokens" -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
  -d '{"name":"bench","scopes":["profile"],"expiresInDays":1}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
CLIENT=$("$BIN" clients add --db "$DIR/full.db" --name bench --grant client_credentials --scope profile)
CID=$(sed -n 's/^client_id *//p' <<< "$CLIENT"); CSECRET=$(sed -n 's/^client_secret *//p' <<< "$CLIENT")
BASIC="Basic $(printf '%s:%s' "$CID" "$CSECRET" | base64 -w0)"

# Each ceiling: the bare handler answering the scenario's own request, run right before it.
ME=$(pair bare-me me --token "$TOKEN")
ME_PAT=$(pair bare-me me-pat --token "$PAT")
TOK=$(pair bare-token token --basic "$BASIC")
TOK_RES=$(pair_scenarios token token-resource --basic "$BASIC")
ME_UP=$(pair_upstream bare-me me --token "$TOKEN")
TOK_UP=$(pair_upstream bare-token token --basic "$BASIC")
LOGIN=$(pair_raw hash-rate login 8 hash-rate --iterations "$ITER" --secs "$SECS")
REFRESH_FULL=$(pair_raw rotation-rate refresh "$THREADS" rotation-rate --sync full --secs "$SECS")
FLOOD=$(median_of "$LG" run --addr "$ADDR" --scenario flood --threads "$THREADS" --secs "$SECS" --token "$TOKEN")
MIXED=$(median_of "$LG" run --addr "$ADDR" --scenario mixed --threads "$THREADS" --secs "$SECS" --password "$PASSWORD")
RSS_KB=$(awk '/VmRSS/ { print $2 }' "/proc/$SPID/status")
rows() {
  python3 - "$DIR/full.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(", ".join(f"{t} {c.execute(f'SELECT count(*) FROM {t}').fetchone()[0]}" for t in ("users", "sessions", "request_log")))
PY
}
DB_ROWS=$(rows)
# Growth: REFRESHES (default one million) more refreshes on the same server, in 30 s rounds (at
# most 20), then RSS and rows.
REFRESHES=${REFRESHES:-1000000}
LONG=""; LONG_DONE=0; long_secs=0
while (( LONG_DONE < REFRESHES && long_secs < 600 )); do
  LONG=$("$LG" run --addr "$ADDR" --scenario refresh --threads "$THREADS" --secs 30 --password "$PASSWORD")
  LONG_DONE=$(awk -v d="$LONG_DONE" -v r="$(field 'req/s' "$LONG")" 'BEGIN { printf "%d", d + r * 30 }')
  long_secs=$(( long_secs + 30 ))
done
LONG_RSS_KB=$(awk '/VmRSS/ { print $2 }' "/proc/$SPID/status")
LONG_ROWS=$(rows)

echo "server (durability normal)…"
start_server normal --durability normal
"$LG" seed --db "$DIR/normal.db" --users 1000 --password "$PASSWORD" --iterations "$ITER" > /dev/null
REFRESH_NORMAL=$(pair_raw rotation-rate refresh "$THREADS" rotation-rate --sync normal --secs "$SECS")

echo "mail…"
MAIL=$(mail_scenario)

bare_rps=$(field "req/s" "$BARE"); hash_rps=$(field ceiling "$LOGIN")
rot_full=$(field ceiling "$REFRESH_FULL"); rot_normal=$(field ceiling "$REFRESH_NORMAL")
raw_row() { # scenario name, pair_raw line, baseline name, target
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(field 'req/s' "$2")" "$(field p50_ms "$2")" "$(field p99_ms "$2")" \
    "$(field pair_ratio "$2")" "$3" "$4" ""
}
plain() { ratio "$(field 'req/s' "$1")" "$bare_rps"; }
paired_row() { # scenario name, pair line, target
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(field 'req/s' "$2")" "$(field p50_ms "$2")" "$(field p99_ms "$2")" \
    "$(field pair_ratio "$2")" "bare handler, same request" "$3" "$(plain "$2")"
}
{
  echo "# Performance"
  echo
  echo "Measured by \`examples/bench.sh\` (SECS=$SECS RUNS=$RUNS THREADS=$THREADS WORKERS=$WORKERS, PBKDF2 $ITER iterations)"
  echo "on $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(date -u +%Y-%m-%d). The load generator runs on the"
  echo "same machine and shares its cores, as it does for the baselines, so only the ratios (each to a"
  echo "baseline measured in the same run) mean anything; absolute figures drift with the machine."
  echo "Rerun: \`examples/bench.sh\` (regenerates this file)."
  echo
  echo "Baselines: the bare handler on the same serving loop answers \`GET /\` at $bare_rps req/s, and the very"
  echo "requests of me (JWT) at $(field ceiling "$ME"), me (PAT) at $(field ceiling "$ME_PAT") and token at $(field ceiling "$TOK") req/s"
  echo "(medians). Each of these scenarios is held to the ceiling for its own request, run right before it in"
  echo "each round; its ratio is the median of the rounds' ratios. The last column compares with \`GET /\`;"
  echo "PBKDF2 $hash_rps hashes/s on all cores;"
  echo "SQLite rotation (SELECT + INSERT + UPDATE) $rot_full tx/s with synchronous=FULL, $rot_normal with NORMAL"
  echo "(medians; each raw baseline is also run right before each round of its scenario, and the ratio"
  echo "is the median of the rounds' ratios). Upstream rouille 3.6's own server (tiny_http, the better of a"
  echo "pool of 8 and of 32 threads) answers the requests of me at $(field ceiling "$ME_UP") and token at"
  echo "$(field ceiling "$TOK_UP") req/s with a constant JSON body (medians of the rounds' better pools)."
  echo
  echo "| scenario | req/s | p50 ms | p99 ms | ratio | to | target | to \`GET /\` |"
  echo "|---|---|---|---|---|---|---|---|"
  paired_row "me (JWT)" "$ME" "≥ 0.8"
  paired_row "me (PAT)" "$ME_PAT" "≥ 0.8"
  paired_row "token (client_credentials)" "$TOK" "≥ 0.6, and ≥ 3 × 8.2k (node-oidc-provider, JWT)"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "token-resource (client_credentials, RFC 8707, ES256)" \
    "$(field 'req/s' "$TOK_RES")" "$(field p50_ms "$TOK_RES")" "$(field p99_ms "$TOK_RES")" \
    "$(field pair_ratio "$TOK_RES")" "token (HS256), same server, same round" "≥ 0.5" ""
  raw_row "login" "$LOGIN" "raw hash rate, same round" "≥ 0.9"
  raw_row "refresh, durability full" "$REFRESH_FULL" "raw rotations, FULL, same round" "≥ 0.6"
  raw_row "refresh, durability normal" "$REFRESH_NORMAL" "raw rotations, NORMAL, same round" "≥ 0.6"
  printf '| me during a login flood (me only) | %s | %s | %s | %s | p99 to me alone | ≤ 2 | |\n' \
    "$(field 'req/s' "$FLOOD")" "$(field p50_ms "$FLOOD")" "$(field p99_ms "$FLOOD")" "$(ratio "$(field p99_ms "$FLOOD")" "$(field p99_ms "$ME")")"
  printf '| me (JWT), to upstream rouille | %s | %s | %s | %s | upstream rouille, same request | ≥ 0.9 | |\n' \
    "$(field 'req/s' "$ME_UP")" "$(field p50_ms "$ME_UP")" "$(field p99_ms "$ME_UP")" "$(field pair_ratio "$ME_UP")"
  printf '| token, to upstream rouille | %s | %s | %s | %s | upstream rouille, same request | ≥ 0.6 | |\n' \
    "$(field 'req/s' "$TOK_UP")" "$(field p50_ms "$TOK_UP")" "$(field p99_ms "$TOK_UP")" "$(field pair_ratio "$TOK_UP")"
  printf '| mixed (90%% me, 8%% refresh, 2%% login) | %s | %s | %s | | | | |\n' "$(field 'req/s' "$MIXED")" "$(field p50_ms "$MIXED")" "$(field p99_ms "$MIXED")"
  echo
  echo "Mail: \`users import\` of $MAIL_ROWS rows took $(field import_secs "$MAIL") s (target < 30 s); the SMTP sink"
  echo "(aiosmtpd on loopback, the tests' sink) had every invitation $(field deliver_secs "$MAIL") s after the import began:"
  echo "$(field mail "$MAIL") messages/s, against $(field raw "$MAIL") messages/s from a plain smtplib loop on one connection"
  echo "to the same sink, measured in the same run: ratio $(field ratio "$MAIL") (target ≥ 0.5)."
  echo
  echo "Memory: the server's resident set after seeding 100,000 users and running every scenario above"
  echo "(ending with mixed): $(( RSS_KB / 1024 )) MiB"
  echo "(target ≤ 64 MiB). Rows then: $DB_ROWS."
  if [ -n "$LONG" ]; then
    echo "After $LONG_DONE more refreshes on the same server (in $long_secs s; $(field 'req/s' "$LONG") req/s in the last 30 s): $(( LONG_RSS_KB / 1024 )) MiB;"
    echo "rows: $LONG_ROWS (a session carries the rotation records of its reuse interval on its own row)."
  fi
  echo "Expired sessions, request records (7 days, at most 500,000) and codes are pruned by the"
  echo "background sweep, and a session's rotation records by its own rotations (at most 128), so"
  echo "none of these grows without bound."
  cat docs/PERFORMANCE-NOTES.md
} > "$OUT"
cat "$OUT"
