#!/usr/bin/env bash
# espeak-ng lets the local Speech API stand-in ("Hear it" without an OpenAI key) speak
# any corrected sentence. Optional: without it the stand-in plays a recorded notice.
# On Debian as root it is installed; elsewhere we say how and carry on.
set -uo pipefail
if command -v espeak-ng >/dev/null 2>&1; then exit 0; fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "Installing Debian's espeak-ng for the local speech stand-in ..."
  apt-get update -qq >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null 2>&1 && exit 0
fi
echo "note: espeak-ng is not installed; without an OpenAI key, \"Hear it\" plays a recorded notice." \
  "Install it (e.g. apt-get install espeak-ng) to hear every corrected sentence."
exit 0
