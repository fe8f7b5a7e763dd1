#!/usr/bin/env bash
# Make sure a bun that Reflex accepts is on PATH (via .tools/bin).
# Order: a bun already on PATH >= the minimum; else bun from the npm registry into
# .tools; else leave it to Reflex's own installer (works on machines with internet).
set -euo pipefail
cd "$(dirname "$0")/.."
MIN_VERSION="${BUN_VERSION:-1.4.4}"
mkdir -p .tools/bin

version_ok() { # $1 = a bun binary
  local v
  v="$("$1" --version 2>/dev/null)" || return 1
  [ "$(printf '%s\n%s\n' "$MIN_VERSION" "$v" | sort -V | head -n1)" = "$MIN_VERSION" ]
}

if [ -x .tools/bin/bun ] && version_ok .tools/bin/bun; then exit 0; fi
if command -v bun >/dev/null 2>&1 && version_ok "$(command -v bun)"; then
  ln -sf "$(command -v bun)" .tools/bin/bun; exit 0
fi
if command -v npm >/dev/null 2>&1; then
  echo "Installing bun $MIN_VERSION from the npm registry into .tools/ ..."
  if npm install --no-save --no-audit --no-fund --loglevel=error --prefix .tools "bun@$MIN_VERSION" >/dev/null; then
    # The package's postinstall puts the platform binary at bin/bun.exe (on every OS).
    bin=.tools/node_modules/bun/bin/bun.exe
    if [ -x "$bin" ] && version_ok "$bin"; then ln -sf "$PWD/$bin" .tools/bin/bun; exit 0; fi
  fi
fi
echo "Could not get bun from npm; Reflex will try its own installer." >&2
