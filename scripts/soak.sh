#!/usr/bin/env bash
# The soak of `nextneck serve`: steady signed deliveries, a kill -9 every
# minute, a poison delivery every few seconds and readers on the dashboard,
# then a check that every acknowledged delivery is stored once and processed.
# Memory (RSS) and latency over time go to OUT/timeline-BACKEND.csv, the
# verdict to OUT/summary-BACKEND.json; exit 1 if anything acknowledged was
# lost, counted twice or left unprocessed. All traffic stays on 127.0.0.1.
#
#   scripts/soak.sh [sqlite|postgres] [SECONDS] [OUT]     (default: sqlite 120 target/soak)
#
# NEXTNECK_BIN picks the binary (default: target/release/nextneck, built if
# missing); SOAK_POSTGRES the PostgreSQL server (default
# postgres://postgres@127.0.0.1:5432/test, a fresh schema is made and
# dropped); SOAK_ARGS passes more options to scripts/soak.py (--rate,
# --writers, --readers, --kill-every, --poison-every, --poison junit,nul,badjson,oversize
# or none, --sample-every).
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
seconds="${2:-120}"
out="${3:-target/soak}"
case "$backend" in
  sqlite|postgres) ;;
  *) echo "soak.sh: the backend is sqlite or postgres, not \`$backend\`" >&2; exit 2 ;;
esac
bin="${NEXTNECK_BIN:-target/release/nextneck}"
if [[ ! -x "$bin" ]]; then
  cargo build --release -p nextneck-cli --bin nextneck
fi
bin="$(realpath "$bin")"
# shellcheck disable=SC2086
exec python3 scripts/soak.py --binary "$bin" --backend "$backend" --seconds "$seconds" \
  --out "$out" --postgres "${SOAK_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}" ${SOAK_ARGS:-}
