#!/usr/bin/env bash
# A long fuzzing run of every parser and converter (stable Rust, proptest):
# the fuzz targets `cargo test` runs with 64 cases each, run again and again
# with many cases and fresh random seeds until the time is up.
#
#   scripts/fuzz.sh [MINUTES] [CASES_PER_ROUND]     (default: 10 minutes, 5000)
#
# Built with the release profile (NEXTNECK_FUZZ_PROFILE=dev reuses the test
# build instead).
#
# Targets: nextneck_ingest::convert for every provider (mutated recorded
# fixtures, fixtures with values replaced, generated JSON), the generic
# format, JUnit (mutated and generated), time parsing, the CSV, NDJSON and
# XES readers, and the nextneck.toml parser. A failure prints proptest's
# minimal failing input and stops the run with exit 1: fix it and add the
# input to the target's `regression_cases`.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes="${1:-10}"
export NEXTNECK_FUZZ_CASES="${2:-5000}"
profile="${NEXTNECK_FUZZ_PROFILE:-release}"
end=$(( $(date +%s) + minutes * 60 ))

# Build once; the rounds only run.
cargo test --profile "$profile" -p nextneck-ingest --test fuzz --no-run
cargo test --profile "$profile" -p nextneck-eventlog --test fuzz --no-run
cargo test --profile "$profile" -p nextneck-cli --bin nextneck --no-run

round=0
while [ "$(date +%s)" -lt "$end" ]; do
    round=$((round + 1))
    echo "== round $round: $NEXTNECK_FUZZ_CASES cases per target"
    cargo test --profile "$profile" -q -p nextneck-ingest --test fuzz
    cargo test --profile "$profile" -q -p nextneck-eventlog --test fuzz
    cargo test --profile "$profile" -q -p nextneck-cli --bin nextneck config::fuzz
done
echo "fuzzing found nothing in $round rounds ($minutes minutes)"
