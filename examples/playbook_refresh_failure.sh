#!/usr/bin/env bash
# Playbook 2 (docs/PLAYBOOKS.md): refreshes fail after a long dashboard session.
# Reproduces the two causes against a local server with short lifetimes, and diagnoses each with
# `gharart-id token inspect`:
#   a) an old refresh token used after its reuse interval (two tabs, a stale copy): reuse detected;
#   b) the dashboard idle longer than the idle lifetime: the session expired.
#
#   gharart-id serve --db ./demo.db --mail-dir ./mail --refresh-reuse-interval 1s --refresh-idle-ttl 5s &
#   MAIL_DIR=./mail GHARART_DB=./demo.db examples/playbook_refresh_failure.sh
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
: "${MAIL_DIR:?set MAIL_DIR to the --mail-dir of the server}"
: "${GHARART_DB:?set GHARART_DB to the --db of the server, for token inspect}"
BIN=${GHARART_BIN:-gharart-id}
HANDLE=${HANDLE:-dash$RANDOM$RANDOM}
EMAIL="$HANDLE@example.com"
PASSWORD=${PASSWORD:-tinsel-sleigh-42}

call POST /v2/auth/signup "{\"handle\":\"$HANDLE\",\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}"
call POST /v2/auth/signup/confirm "{\"email\":\"$EMAIL\",\"code\":\"$(code_for "$EMAIL")\"}"
call POST /v2/auth/login "{\"login\":\"$HANDLE\",\"password\":\"$PASSWORD\"}"
show "login"
OLD=$(field refreshToken)

echo "a) a stale copy of a rotated refresh token"
call POST /v2/auth/refresh "{\"refreshToken\":\"$OLD\"}"
show "refresh (tab 1)"
# Past the 1 s reuse interval, well inside the 5 s idle lifetime: both count whole seconds, so a
# 2 s pause can span 3 of them (with a 3 s idle lifetime this step sometimes found the session
# expired instead).
sleep 2
call POST /v2/auth/refresh "{\"refreshToken\":\"$OLD\"}"
show "refresh (tab 2, stale)"
[[ $(field code) == refresh_token_reused ]] || { echo "expected refresh_token_reused" >&2; exit 1; }
echo "  diagnosis:"
"$BIN" token inspect --db "$GHARART_DB" --refresh-idle-ttl 5s --refresh-reuse-interval 1s "$OLD" | sed 's/^/    /' || true
echo "  fix: the client must keep only the newest refresh token (one writer per session, or share it"
echo "  between tabs); retries within the reuse interval are safe. The user signs in again."

echo "b) an idle dashboard"
call POST /v2/auth/login "{\"login\":\"$HANDLE\",\"password\":\"$PASSWORD\"}"
IDLE=$(field refreshToken)
sleep 6
call POST /v2/auth/refresh "{\"refreshToken\":\"$IDLE\"}"
show "refresh (after idle)"
[[ $(field code) == refresh_token_expired ]] || { echo "expected refresh_token_expired" >&2; exit 1; }
echo "  diagnosis:"
"$BIN" token inspect --db "$GHARART_DB" --refresh-idle-ttl 5s --refresh-reuse-interval 1s "$IDLE" | sed 's/^/    /' || true
echo "  fix: refresh before the idle lifetime ends (any refresh slides it), or raise --refresh-idle-ttl."
