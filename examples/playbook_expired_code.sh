#!/usr/bin/env bash
# Playbook 1 (docs/PLAYBOOKS.md): a confirmation code expires during onboarding.
# Reproduces it against a local server started with a short code lifetime, shows the diagnosis,
# and applies the fix.
#
#   gharart-id serve --mail-dir ./mail --signup-code-ttl 3s &
#   MAIL_DIR=./mail examples/playbook_expired_code.sh
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
: "${MAIL_DIR:?set MAIL_DIR to the --mail-dir of the server}"
WAIT=${WAIT:-4}
HANDLE=${HANDLE:-late$RANDOM$RANDOM}
EMAIL="$HANDLE@example.com"
PASSWORD=${PASSWORD:-tinsel-sleigh-42}

call POST /v2/auth/signup "{\"handle\":\"$HANDLE\",\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}"
show "signup" ; echo "  the code expires at $(field expiresAt)"
CODE=$(code_for "$EMAIL")
echo "  (the teammate opens the mail only after ${WAIT}s)"
sleep "$WAIT"

call POST /v2/auth/signup/confirm "{\"email\":\"$EMAIL\",\"code\":\"$CODE\"}"
show "confirm (late)"
echo "  symptom: $(field message)"
[[ $STATUS == 400 && $(field code) == code_expired ]] || { echo "expected 400 code_expired" >&2; exit 1; }

echo "diagnosis: the code is past its lifetime; the account still holds its handle until then, and"
echo "  'gharart-id users list' shows it as unconfirmed. The fix is a new code; the old one stays dead."
call POST /v2/auth/signup/resend "{\"email\":\"$EMAIL\"}"
show "resend"
NEW=$(code_for "$EMAIL" 1)
call POST /v2/auth/signup/confirm "{\"email\":\"$EMAIL\",\"code\":\"$NEW\"}"
show "confirm (new code)"
[[ $STATUS == 200 ]] || { echo "expected 200" >&2; exit 1; }
echo "fixed: $EMAIL is confirmed"
