#!/usr/bin/env bash
# Walks the identity flow against a running gharart-id with curl:
#   signup -> confirm -> login -> me -> refresh -> logout -> me (refused)
# and prints each step's request ID, which is what support asks for when a step fails.
#
# Usage:
#   gharart-id serve --mail-dir ./mail          # in another terminal
#   MAIL_DIR=./mail examples/walkthrough.sh     # reads the code from the mail directory
#   examples/walkthrough.sh                     # without MAIL_DIR: paste the code from the server log
#
# Settings (environment): BASE_URL (default http://127.0.0.1:8080), MAIL_DIR, HANDLE, PASSWORD.
# Needs only bash, curl, grep and sed.
set -euo pipefail

BASE_URL=${BASE_URL:-http://127.0.0.1:8080}
HANDLE=${HANDLE:-elf$RANDOM$RANDOM}
EMAIL="$HANDLE@example.com"
PASSWORD=${PASSWORD:-tinsel-sleigh-42}
MAIL_DIR=${MAIL_DIR:-}

STATUS="" BODY="" RID=""

# call METHOD PATH [JSON] [TOKEN]: sets STATUS, BODY and RID (the X-Request-Id).
call() {
  local method=$1 path=$2 data=${3:-} token=${4:-} headers
  local args=(-sS -X "$method" "$BASE_URL$path" -D - -o /tmp/gharart-walk.$$)
  [[ -n $data ]] && args+=(-H 'Content-Type: application/json' --data "$data")
  [[ -n $token ]] && args+=(-H "Authorization: Bearer $token")
  headers=$(curl "${args[@]}")
  STATUS=$(printf '%s\n' "$headers" | sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p')
  RID=$(printf '%s\n' "$headers" | tr -d '\r' | sed -n 's/^[Xx]-[Rr]equest-[Ii]d: //p')
  BODY=$(cat /tmp/gharart-walk.$$)
  rm -f /tmp/gharart-walk.$$
}

# step NAME EXPECTED_STATUS: prints the outcome with the request ID; stops on a surprise.
step() {
  printf '%-8s %s  request %s\n' "$1" "$STATUS" "$RID"
  if [[ $STATUS != "$2" ]]; then
    echo "  expected $2; the server said: $BODY" >&2
    echo "  send support that request ID:" >&2
    echo "  curl -X POST $BASE_URL/v2/support/report -H 'Content-Type: application/json' \\" >&2
    echo "    -d '{\"summary\":\"$1 failed\",\"details\":\"...\",\"requestId\":\"$RID\"}'" >&2
    exit 1
  fi
}

# field NAME: a string field of BODY (the JSON this server writes has no escaped quotes in these).
field() { printf '%s' "$BODY" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }

call POST /v2/auth/signup "{\"handle\":\"$HANDLE\",\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}"
step signup 201

if [[ -n $MAIL_DIR ]]; then
  CODE=""
  for _ in $(seq 1 100); do
    FILE=$(grep -lis "^To: .*<$EMAIL>" "$MAIL_DIR"/*.eml 2>/dev/null | tail -n 1 || true)
    [[ -n $FILE ]] && CODE=$(sed -n 's/^ *\([0-9]\{6\}\)\r\{0,1\}$/\1/p' "$FILE" | head -n 1)
    [[ -n $CODE ]] && break
    sleep 0.1
  done
  [[ -n $CODE ]] || { echo "no code for $EMAIL in $MAIL_DIR" >&2; exit 1; }
else
  read -r -p "code from the server log for $EMAIL: " CODE
fi

call POST /v2/auth/signup/confirm "{\"email\":\"$EMAIL\",\"code\":\"$CODE\"}"
step confirm 200

call POST /v2/auth/login "{\"login\":\"$HANDLE\",\"password\":\"$PASSWORD\"}"
step login 200
ACCESS=$(field accessToken)
REFRESH=$(field refreshToken)
echo "         session $(field sessionId), access token expires $(field expiresAt)"

call GET /v2/auth/me "" "$ACCESS"
step me 200

call POST /v2/auth/refresh "{\"refreshToken\":\"$REFRESH\"}"
step refresh 200
ACCESS=$(field accessToken)

call POST /v2/auth/logout "" "$ACCESS"
step logout 204

call GET /v2/auth/me "" "$ACCESS"
step me 401
echo "         after logout the token is refused: $(field code)"
