#!/usr/bin/env bash
# Checks the served API against its own OpenAPI document with real peers:
# openapi-spec-validator (the document is valid OpenAPI 3.1) and schemathesis (generated
# requests, including malformed ones: no 5xx, responses conform to the documented schemas,
# status codes are documented). Runs a real `lessee serve` on a throwaway SQLite data dir.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${LESSEE_BIN:-}" ]; then
  cargo build -q -p lessee-cli
  LESSEE_BIN="${CARGO_TARGET_DIR:-target}/debug/lessee"
fi
BIN=$LESSEE_BIN
PY=.venv/bin
DATA=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$DATA"' EXIT

TOKEN=$("$BIN" --data-dir "$DATA" tokens create --role control_plane --name conformance)
# Vendor webhooks enabled, so their signature checks are exercised (every request is unsigned).
LESSEE_VENDOR_WEBHOOK_SECRET=conformance-vendor-secret-0123 "$BIN" --data-dir "$DATA" serve --listen 127.0.0.1:0 > "$DATA/out" 2> "$DATA/err" &
PID=$!
for _ in $(seq 1 100); do grep -q '^listening on ' "$DATA/out" 2>/dev/null && break; sleep 0.1; done
BASE=$(sed -n 's/^listening on //p' "$DATA/out")
[ -n "$BASE" ] || { echo "server did not start"; cat "$DATA/err"; exit 1; }

curl -sf "$BASE/openapi.json" -o "$DATA/openapi.json"
"$PY/openapi-spec-validator" "$DATA/openapi.json"

"$PY/schemathesis" run "$BASE/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-40}" --seed 1 --no-color --suppress-health-check=filter_too_much \
  --phases examples,coverage,fuzzing
if grep -E "panicked|RUST_BACKTRACE" "$DATA/err"; then echo "the server panicked"; exit 1; fi
echo "api conformance: ok"
