#!/usr/bin/env bash
# The classroom's speech model runs in the learner's browser: Silero VAD through
# onnxruntime-web, as packaged by @ricky0123/vad-web. Its files are served from our own
# origin (assets/vad/, copied into the build by Reflex), never from a CDN, so the
# classroom works offline, under the service worker and on closed networks.
# Pinned versions are installed from the npm registry into .tools/vad-web and the few
# files the page loads are copied into assets/vad/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
VAD_WEB_VERSION=0.0.31
ORT_VERSION=1.22.0
DEST=assets/vad
PREFIX=.tools/vad-web
STAMP="$DEST/.versions"
WANT="vad-web@$VAD_WEB_VERSION onnxruntime-web@$ORT_VERSION"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then exit 0; fi
echo "Installing the browser speech model ($WANT) from the npm registry ..."
mkdir -p "$PREFIX"
# A separate prefix: `npm install --no-save` prunes whatever else shares its prefix.
npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$PREFIX" \
  "@ricky0123/vad-web@$VAD_WEB_VERSION" "onnxruntime-web@$ORT_VERSION" >/dev/null
VAD="$PREFIX/node_modules/@ricky0123/vad-web/dist"
ORT="$PREFIX/node_modules/onnxruntime-web/dist"
rm -rf "$DEST"
mkdir -p "$DEST"
cp "$VAD/bundle.min.js" "$VAD/vad.worklet.bundle.min.js" "$VAD/silero_vad_v5.onnx" "$DEST/"
cp "$ORT/ort.wasm.min.js" "$ORT/ort-wasm-simd-threaded.wasm" "$ORT/ort-wasm-simd-threaded.mjs" "$DEST/"
echo "$WANT" >"$STAMP"
