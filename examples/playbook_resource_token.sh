#!/usr/bin/env bash
# Playbook 5 (docs/PLAYBOOKS.md): a resource server (an MCP server, a wiki API) refuses the
# appliance's tokens, or the appliance refuses a resource's. Registers a machine client, asks
# for a token with a resource the server was not told about (invalid_target), then for one it
# was (an ES256 token with that aud), shows the appliance's own /v2 refusing it, and verifies it
# the way the resource server does: with the JWKS alone (PyJWT).
#
#   gharart-id serve --db ./demo.db --resource https://mcp.example.test &
#   GHARART_DB=./demo.db RESOURCE=https://mcp.example.test examples/playbook_resource_token.sh
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
: "${GHARART_DB:?set GHARART_DB to the --db of the server, for clients add}"
BIN=${GHARART_BIN:-gharart-id}
RESOURCE=${RESOURCE:-https://mcp.example.test}

CLIENT=$("$BIN" clients add --db "$GHARART_DB" --name "playbook machine" --grant client_credentials --scope profile)
CID=$(sed -n 's/^client_id *//p' <<< "$CLIENT"); CSECRET=$(sed -n 's/^client_secret *//p' <<< "$CLIENT")
token() { # token RESOURCE: a client_credentials token request naming RESOURCE
  BODY=$(curl -sS -u "$CID:$CSECRET" -d grant_type=client_credentials --data-urlencode "resource=$1" \
    -w '\n%{http_code}' "$BASE_URL/oauth/token")
  STATUS=${BODY##*$'\n'}; BODY=${BODY%$'\n'*}
}

token "https://unknown.example.test"
echo "token for an unlisted resource: $STATUS $(sed -n 's/.*"error":"\([^"]*\)".*/\1/p' <<< "$BODY")"
[[ $STATUS == 400 && $BODY == *invalid_target* ]] || { echo "expected invalid_target" >&2; exit 1; }
token "$RESOURCE"
echo "token for $RESOURCE: $STATUS"
BOUND=$(field access_token)
[[ -n $BOUND ]] || { echo "expected a token: $BODY" >&2; exit 1; }
call GET /v2/auth/me "" "$BOUND"
show "that token at /v2"
[[ $STATUS == 401 && $BODY == *"another audience"* ]] || { echo "expected 401 another audience" >&2; exit 1; }
echo "  diagnosis: a token names its resource in aud. One for another resource is signed ES256 and"
echo "  opens nothing of the appliance; one without resource is the appliance's HS256 token, which"
echo "  a resource server cannot verify. An unlisted or malformed resource is invalid_target: add it"
echo "  with --resource (the exact URI) and restart."
python3 - "$BASE_URL" "$RESOURCE" "$BOUND" <<'PY'
import sys, jwt
base, resource, token = sys.argv[1:]
keys = jwt.PyJWKClient(base + "/oauth/jwks")
claims = jwt.decode(token, keys.get_signing_key_from_jwt(token).key, algorithms=["ES256", "RS256"],
                    audience=resource, issuer=base)
print(f"fixed: the resource server verified it with the JWKS alone: aud {claims['aud']}, client {claims['client_id']}")
PY
