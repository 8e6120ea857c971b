#!/usr/bin/env bash
# The whole test suite: `./test.sh` (extra arguments go to `cargo test`).
# Installs what the tests need when it is missing (Chromium, for the tests
# that open the HTML reports in a real browser), then runs every test.
set -euo pipefail
cd "$(dirname "$0")"

if [ -z "${NEXTNECK_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
    echo "== installing chromium (Debian package) for the browser tests"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: chromium is missing and apt-get is not available; install Chromium and set NEXTNECK_CHROMIUM to its path" >&2
        exit 1
    fi
    $sudo apt-get install -y -qq chromium >/dev/null 2>&1 || {
        $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium >/dev/null
    }
fi

# The event store tests use the local PostgreSQL server unless told otherwise.
export NEXTNECK_TEST_POSTGRES="${NEXTNECK_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"

exec cargo test --workspace "$@"
