#!/usr/bin/env bash
# The integration tests need PostgreSQL. If the local server is installed but stopped,
# start it. If it still cannot be reached, pytest stops with one line naming
# TEST_DATABASE_URL (tests/conftest.py), so this script never fails the run itself.
set -uo pipefail
url="${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}"
case "$url" in *@127.0.0.1*|*@localhost*) ;; *) exit 0 ;; esac
if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then exit 0; fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  version="$(ls /etc/postgresql | sort -V | tail -n1)"
  echo "Starting the local PostgreSQL $version cluster ..."
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 0.5; done
fi
exit 0
