#!/usr/bin/env bash
# A Chromium for the browser tests: CHROMIUM_PATH or the system one; on Debian as root,
# install Debian's package; elsewhere, Playwright's own browser download.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then exit 0; fi
if [ -x /usr/bin/chromium ]; then exit 0; fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "Installing Debian's chromium for the browser tests ..."
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "No system Chromium: downloading Playwright's own browser ..."
.venv/bin/playwright install chromium
