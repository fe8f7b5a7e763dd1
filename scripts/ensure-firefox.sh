#!/usr/bin/env bash
# Firefox ESR and a PulseAudio sound server for the Firefox browser tests.
# Playwright's own Firefox build cannot be downloaded everywhere, so the tests drive the
# system Firefox through Marionette; PulseAudio gives its AudioContexts a (null) sink on
# machines without a sound card. On Debian as root both are installed; elsewhere we say
# what is missing and carry on (the Firefox tests then skip with that reason).
set -uo pipefail
need=()
if [ -z "${FIREFOX_PATH:-}" ] && ! command -v firefox-esr >/dev/null 2>&1 && ! command -v firefox >/dev/null 2>&1; then
  need+=(firefox-esr)
fi
command -v pulseaudio >/dev/null 2>&1 || need+=(pulseaudio)
[ ${#need[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "Installing Debian's ${need[*]} for the Firefox browser tests ..."
  apt-get update -qq >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null && exit 0
fi
echo "note: ${need[*]} not installed; the Firefox browser tests will be skipped." \
  "Install them (e.g. apt-get install firefox-esr pulseaudio) to run them."
exit 0
