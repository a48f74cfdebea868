#!/usr/bin/env bash
# Playbook 4 (docs/PLAYBOOKS.md): a teammate with two-step sign-in lost the phone (or keeps
# getting code_invalid). Turns on TOTP for a new user (codes from pyotp, as an authenticator app
# computes them), shows what a wrong code and a dead mfaToken answer, then the operator's way
# back: `gharart-id users mfa-reset HANDLE`.
#
#   gharart-id serve --db ./demo.db --mail-dir ./mail &
#   MAIL_DIR=./mail GHARART_DB=./demo.db examples/playbook_lost_second_factor.sh
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
: "${MAIL_DIR:?set MAIL_DIR to the --mail-dir of the server}"
: "${GHARART_DB:?set GHARART_DB to the --db of the server, for users mfa-reset}"
BIN=${GHARART_BIN:-gharart-id}
HANDLE=${HANDLE:-phone$RANDOM$RANDOM}
EMAIL="$HANDLE@example.com"
PASSWORD=${PASSWORD:-tinsel-sleigh-42}
totp() { python3 -c 'import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).now())' "$1"; }

call POST /v2/auth/signup "{\"handle\":\"$HANDLE\",\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}"
call POST /v2/auth/signup/confirm "{\"email\":\"$EMAIL\",\"code\":\"$(code_for "$EMAIL")\"}"
call POST /v2/auth/login "{\"login\":\"$HANDLE\",\"password\":\"$PASSWORD\"}"
TOKEN=$(field accessToken)
call POST /v2/auth/mfa/totp "" "$TOKEN"
show "set up TOTP"
SECRET=$(field secret)
call POST /v2/auth/mfa/totp/confirm "{\"code\":\"$(totp "$SECRET")\"}" "$TOKEN"
show "confirm TOTP"

call POST /v2/auth/login "{\"login\":\"$HANDLE\",\"password\":\"$PASSWORD\"}"
show "password step"
[[ $BODY == *'"mfaRequired":true'* ]] || { echo "expected mfaRequired" >&2; exit 1; }
MFA=$(field mfaToken)
for try in 1 2 3 4 5; do
  call POST /v2/auth/login/mfa "{\"mfaToken\":\"$MFA\",\"code\":\"000000\"}"
  show "wrong code $try"
done
call POST /v2/auth/login/mfa "{\"mfaToken\":\"$MFA\",\"code\":\"$(totp "$SECRET")\"}"
show "right code, too late"
[[ $(field code) == mfa_token_invalid ]] || { echo "expected mfa_token_invalid" >&2; exit 1; }
echo "  diagnosis: 401 code_invalid is a wrong or already used code (check the phone's clock: one"
echo "  30 s step of drift either way is allowed); after the 5th the mfaToken is dead"
echo "  (mfa_token_invalid), and an mfaToken older than 5 minutes is mfa_token_expired. Either way:"
echo "  sign in with the password again. A recovery code works in place of a TOTP code, once."
echo "  users list shows who has a second factor:"
"$BIN" users list --db "$GHARART_DB" | grep "^$HANDLE " | sed 's/^/    /'

echo "the phone and the recovery codes are lost:"
"$BIN" users mfa-reset --db "$GHARART_DB" "$HANDLE" | sed 's/^/  /'
call GET /v2/auth/me "" "$TOKEN"
show "old session"
call POST /v2/auth/login "{\"login\":\"$HANDLE\",\"password\":\"$PASSWORD\"}"
show "password alone"
[[ -n $(field accessToken) ]] || { echo "expected a session from the password alone" >&2; exit 1; }
echo "  fixed: the password signs in alone; ask the teammate to set up two-step sign-in again on /account."
