#!/usr/bin/env bash
# PurgeCSS, which cuts the app's stylesheet down to what each public page uses (see
# fluentio/public_pages/). From the npm registry into its own prefix under .tools.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${PURGECSS_VERSION:-8.0.0}"
PREFIX=.tools/purgecss
BIN="$PREFIX/node_modules/.bin/purgecss"
if [ -x "$BIN" ] && [ "$(cat "$PREFIX/.version" 2>/dev/null)" = "$VERSION" ]; then exit 0; fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: public pages will link the full stylesheet instead of inlining it." >&2
  exit 0
fi
echo "Installing purgecss $VERSION from the npm registry into $PREFIX/ ..."
mkdir -p "$PREFIX"
npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$PREFIX" -E "purgecss@$VERSION" >/dev/null
echo "$VERSION" > "$PREFIX/.version"
