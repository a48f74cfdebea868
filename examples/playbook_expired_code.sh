#!/usr/bin/env bash
# Playbook 1 (docs/PLAYBOOKS.md): a confirmation code expires during onboarding.
# Reproduces it against a local server started with a short code lifetime, shows the diagnosis,
# and applies the fix.
#
#   gharart-id serve --mail-dir ./mail --signup-code-ttl 3s &
#   MAIL_DIR=./mail GHARART_DB=./gharart.db examples/playbook_expired_code.sh
# The operator's side runs the command line (GHARART_BIN, default gharart-id) on GHARART_DB.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
: "${MAIL_DIR:?set MAIL_DIR to the --mail-dir of the server}"
WAIT=${WAIT:-4}
HANDLE=${HANDLE:-late$RANDOM$RANDOM}
EMAIL="$HANDLE@example.com"
PASSWORD=${PASSWORD:-tinsel-sleigh-42}
BIN=${GHARART_BIN:-gharart-id}

call POST /v2/auth/signup "{\"handle\":\"$HANDLE\",\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}"
show "signup" ; echo "  the code expires at $(field expiresAt)"
CODE=$(code_for "$EMAIL")
echo "  (the teammate opens the mail only after ${WAIT}s)"
sleep "$WAIT"

call POST /v2/auth/signup/confirm "{\"email\":\"$EMAIL\",\"code\":\"$CODE\"}"
show "confirm (late)"
echo "  symptom: $(field message)"
[[ $STATUS == 400 && $(field code) == code_expired ]] || { echo "expected 400 code_expired" >&2; exit 1; }

echo "diagnosis (the operator's view):"
ROW=$("$BIN" users list | grep "^$HANDLE ")
echo "  users list: $ROW"
[[ $ROW == *" code_expired "* ]] || { echo "expected the onboarding state code_expired" >&2; exit 1; }
echo "  mail list:  $("$BIN" mail list | grep " $EMAIL " | head -n 1)"
echo "  the message was delivered; the teammate came back after the code's lifetime. Stuck for"
echo "  another reason, users list says delivery_failed and mail list shows the relay's reply."
echo "fix: a new code for every account whose code expired (safe to run twice)"
"$BIN" users resend --expired | sed 's/^/  /'
# The running server delivers what the command queued within a second or two.
for _ in $(seq 1 100); do
  (( $(grep -lis "^To: .*<$EMAIL>" "$MAIL_DIR"/*.eml | wc -l) >= 2 )) && break
  sleep 0.1
done
NEW=$(code_for "$EMAIL" 1)
call POST /v2/auth/signup/confirm "{\"email\":\"$EMAIL\",\"code\":\"$NEW\"}"
show "confirm (new code)"
[[ $STATUS == 200 ]] || { echo "expected 200" >&2; exit 1; }
echo "fixed: $EMAIL is confirmed"
