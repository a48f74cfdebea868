#!/usr/bin/env bash
# Instructions the server spends per GET /v2/auth/me, with an access JWT and with a PAT, counted
# by valgrind's callgrind (counts, not seconds: the same for the same binary and input, whatever
# else the machine does). For comparing two builds where the throughput ratios of
# examples/bench.sh are within the machine's noise:
#
#   examples/instructions.sh                        # target/release/gharart-id
#   examples/instructions.sh /tmp/gharart-before    # another build, same requests
#
# N=1000 requests per credential, after 20 to warm the caches and prepared statements.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/gharart-id}
N=${N:-1000}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cargo build --release --quiet --example loadgen
LG=target/release/examples/loadgen
DIR=$(mktemp -d)
PORT=$((20000 + RANDOM % 10000))
cleanup() { [[ -n ${PID:-} ]] && kill "$PID" 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
valgrind --tool=callgrind --callgrind-out-file="$DIR/cg.%p" "$BIN" serve --db "$DIR/g.db" \
  --listen "127.0.0.1:$PORT" --throttle off --pbkdf2-iterations 1000 --workers 8 > "$DIR/out" 2> "$DIR/err" &
PID=$!
for _ in $(seq 1 600); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.2; done
"$LG" seed --db "$DIR/g.db" --users 10 --password pw-long-enough-1 --iterations 1000 > /dev/null
TOKEN=$(curl -s -X POST "http://127.0.0.1:$PORT/v2/auth/login" -H 'Content-Type: application/json' \
  -d '{"login":"bench1","password":"pw-long-enough-1"}' | sed -n 's/.*"accessToken":"\([^"]*\)".*/\1/p')
PAT=$(curl -s -X POST "http://127.0.0.1:$PORT/v2/auth/tokens" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $TOKEN" -d '{"name":"count","scopes":["profile"],"expiresInDays":1}' \
  | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[[ -n $TOKEN && -n $PAT ]] || { echo "could not sign in to the server under valgrind" >&2; exit 1; }
# requests CREDENTIAL COUNT: COUNT GET /v2/auth/me on one keep-alive connection, bodies dropped.
requests() {
  local config="$DIR/curl.$2"
  for _ in $(seq 1 "$2"); do printf 'url = "http://127.0.0.1:%s/v2/auth/me"\noutput = "/dev/null"\n' "$PORT"; done > "$config"
  curl -s -H "Authorization: Bearer $1" --config "$config"
}
requests "$TOKEN" 20
requests "$PAT" 20
for label in jwt pat; do
  credential=$TOKEN; [[ $label == pat ]] && credential=$PAT
  callgrind_control -z "$PID" > /dev/null 2>&1
  requests "$credential" "$N"
  callgrind_control -d "$label" "$PID" > /dev/null 2>&1
done
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
for label in jwt pat; do
  file=$(grep -l "Trigger: Client Request: $label\|Trigger: $label\|dump $label" "$DIR"/cg.* | head -n 1)
  total=$(sed -n 's/^summary: //p' "$file")
  echo "me ($label): $((total / N)) instructions per request ($N requests)"
done
