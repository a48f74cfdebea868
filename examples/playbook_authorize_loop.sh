#!/usr/bin/env bash
# Playbook 3 (docs/PLAYBOOKS.md): an authorize loop from a misconfigured client.
# Registers a client, then shows the two misconfigurations: a redirect URI off by one character
# (an error page with the exact difference, never a redirect), and a client that keeps starting
# the flow without ever redeeming a code (the loop breaker's page, with the request IDs).
#
#   gharart-id serve --mail-dir ./mail &
#   MAIL_DIR=./mail examples/playbook_authorize_loop.sh
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
: "${MAIL_DIR:?set MAIL_DIR to the --mail-dir of the server}"
HANDLE=${HANDLE:-dev$RANDOM$RANDOM}
EMAIL="$HANDLE@example.com"
PASSWORD=${PASSWORD:-tinsel-sleigh-42}
CALLBACK="https://dash.example/oauth/callback"

call POST /v2/auth/signup "{\"handle\":\"$HANDLE\",\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}"
call POST /v2/auth/signup/confirm "{\"email\":\"$EMAIL\",\"code\":\"$(code_for "$EMAIL")\"}"
call POST /v2/auth/login "{\"login\":\"$HANDLE\",\"password\":\"$PASSWORD\"}"
call POST /oauth/register "{\"client_name\":\"Looping dashboard\",\"redirect_uris\":[\"$CALLBACK\"]}" "$(field accessToken)"
show "register client"
CLIENT=$(field client_id)
CHALLENGE=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
authorize() {
  call GET "/oauth/authorize?response_type=code&client_id=$CLIENT&redirect_uri=$1&state=s1&code_challenge=$CHALLENGE&code_challenge_method=S256"
}

echo "a) a redirect URI with a trailing slash"
authorize "https%3A%2F%2Fdash.example%2Foauth%2Fcallback%2F"
show "authorize"
[[ $STATUS == 400 && -z $LOCATION ]] || { echo "expected a 400 page and no redirect" >&2; exit 1; }
printf '%s' "$BODY" | grep -o 'trailing slash: [^<]*' | sed 's/&quot;/"/g; s/^/  /'
echo "  fix: register the exact URI the client sends, or make the client send the registered one."

echo "b) a client that starts again and again without redeeming a code"
for i in 1 2 3 4 5 6; do
  authorize "https%3A%2F%2Fdash.example%2Foauth%2Fcallback"
  show "authorize #$i"
done
[[ $STATUS == 429 ]] || { echo "expected the loop breaker's 429 page" >&2; exit 1; }
echo "  the page lists the request IDs involved:"
printf '%s' "$BODY" | grep -o 'req_[0-9a-z]\{26\}' | sort -u | sed 's/^/    /'
echo "  fix: the client's callback must exchange the code (or show the error it got) instead of"
echo "  starting the authorization again; look up those request IDs in the server log."
