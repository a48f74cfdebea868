# Shared by the example scripts: one curl call that keeps the status, the body and the request
# ID, and a way to read a JSON string field. Needs only bash, curl, grep and sed.

BASE_URL=${BASE_URL:-http://127.0.0.1:8080}
STATUS="" BODY="" RID="" LOCATION=""

# call METHOD PATH [JSON] [TOKEN]
call() {
  local method=$1 path=$2 data=${3:-} token=${4:-} headers tmp
  tmp=$(mktemp)
  local args=(-sS -X "$method" "$BASE_URL$path" -D - -o "$tmp")
  [[ -n $data ]] && args+=(-H 'Content-Type: application/json' --data "$data")
  [[ -n $token ]] && args+=(-H "Authorization: Bearer $token")
  headers=$(curl "${args[@]}" | tr -d '\r')
  STATUS=$(printf '%s\n' "$headers" | sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p')
  RID=$(printf '%s\n' "$headers" | sed -n 's/^[Xx]-[Rr]equest-[Ii]d: //p')
  LOCATION=$(printf '%s\n' "$headers" | sed -n 's/^[Ll]ocation: //p')
  BODY=$(cat "$tmp")
  rm -f "$tmp"
}

# field NAME: a string field of BODY.
field() { printf '%s' "$BODY" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }

# show LABEL: one line with the status, the error code if any, and the request ID.
show() { printf '%-22s %s %-24s request %s\n' "$1" "$STATUS" "$(field code)" "$RID"; }

# code_for EMAIL [NTH]: the NTH newest code mailed to EMAIL in MAIL_DIR (waits up to 10 s).
code_for() {
  local email=$1 nth=${2:-1} file code=""
  for _ in $(seq 1 100); do
    file=$(grep -lis "^To: .*<$email>" "$MAIL_DIR"/*.eml 2>/dev/null | sort | tail -n "$nth" | head -n 1 || true)
    [[ -n $file ]] && [[ $(grep -lis "^To: .*<$email>" "$MAIL_DIR"/*.eml | wc -l) -ge $nth ]] && code=$(sed -n 's/^ *\([0-9]\{6\}\)\r\{0,1\}$/\1/p' "$file" | head -n 1)
    [[ -n $code ]] && break
    sleep 0.1
  done
  [[ -n $code ]] || { echo "no code for $email in $MAIL_DIR" >&2; exit 1; }
  printf '%s' "$code"
}
