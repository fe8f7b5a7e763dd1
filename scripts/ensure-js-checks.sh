#!/usr/bin/env bash
# The JavaScript parser (acorn, from the npm registry) that the browser-target test uses
# to check the production bundle, installed into .tools/js-checks (apart from bun's copy
# in .tools, so neither install prunes the other). The check script is copied beside its
# node_modules because Node resolves a module's imports from where the module lives.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.tools/js-checks
mkdir -p "$dest"
cp scripts/js-checks/check-bundle.mjs "$dest/check-bundle.mjs"
if [ -f "$dest/node_modules/.fluentio-stamp" ] && cmp -s scripts/js-checks/package.json "$dest/package.json"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "note: npm not found; the browser-target test will be skipped." >&2
  exit 0
fi
cp scripts/js-checks/package.json "$dest/package.json"
echo "Installing acorn from the npm registry into $dest ..."
npm install --no-audit --no-fund --loglevel=error --no-package-lock --prefix "$dest" >/dev/null
touch "$dest/node_modules/.fluentio-stamp"
