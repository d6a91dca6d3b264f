#!/usr/bin/env bash
# The whole test suite, from a clean checkout on a Debian machine with Rust.
# It starts what it needs (PostgreSQL, a Python venv with the peer implementations) and fails,
# never skips, when it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== PostgreSQL"
LESSEE_TEST_POSTGRES_URL=$(scripts/ensure-postgres.sh)
export LESSEE_TEST_POSTGRES_URL
echo "using $LESSEE_TEST_POSTGRES_URL"
# Databases left by earlier runs that were killed.
psql "$LESSEE_TEST_POSTGRES_URL" -qtAc "select datname from pg_database where datname like 'lessee_test_%' or datname like 'lessee_bench_%'" \
  | while read -r db; do [ -n "$db" ] && psql "$LESSEE_TEST_POSTGRES_URL" -qc "drop database if exists $db with (force)" >/dev/null || true; done

echo "== Python peers (.venv)"
if [ ! -x .venv/bin/python ]; then
  # Debian's python3 needs python3-venv for this; install it when missing.
  python3 -m venv .venv 2>/dev/null || {
    rm -rf .venv
    (apt-get install -y -q python3-venv || { apt-get update -q && apt-get install -y -q python3-venv; }) >&2
    python3 -m venv .venv
  }
fi
.venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements-peers.txt

echo "== cargo test"
cargo test --workspace

echo "== MRZ peer check (PyPI mrz)"
.venv/bin/python scripts/mrz_peer_check.py

echo "== API conformance (openapi-spec-validator, schemathesis)"
scripts/api_conformance.sh
