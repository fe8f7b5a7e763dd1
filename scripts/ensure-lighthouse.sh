#!/usr/bin/env bash
# Lighthouse for `make bench` (the public pages' scores), from the npm registry into
# its own prefix (.tools/lighthouse) so it never touches the bun install beside it.
# 12.2.3 is the newest that runs on Node 20 (13.x needs Node 22).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${LIGHTHOUSE_VERSION:-12.2.3}"
PREFIX=.tools/lighthouse
BIN="$PREFIX/node_modules/.bin/lighthouse"
if [ -x "$BIN" ] && [ "$("$BIN" --version 2>/dev/null)" = "$VERSION" ]; then exit 0; fi
echo "Installing lighthouse $VERSION from the npm registry into $PREFIX/ ..."
mkdir -p "$PREFIX"
npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$PREFIX" -E "lighthouse@$VERSION" >/dev/null
"$BIN" --version >/dev/null
