#!/usr/bin/env bash
# Render the speech the local Realtime simulator and its tests use, with espeak-ng + sox.
#
#   scripts/make-sim-voices.sh          # tutor lines (fluentio/simulator/voices) and test WAVs
#
# The WAVs are committed: the app never needs espeak-ng at run time. Run this again only
# after changing a line's text in fluentio/simulator/voices/index.json (or the learner
# recordings below). Needs: espeak-ng, sox, python3 (`apt-get install espeak-ng sox`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VOICES="$ROOT/fluentio/simulator/voices"
ASSETS="$ROOT/tests/assets/audio"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

for tool in espeak-ng sox python3; do
  command -v "$tool" >/dev/null || { echo "make-sim-voices: $tool is not installed (apt-get install espeak-ng sox)" >&2; exit 1; }
done

# speak VOICE TEXT OUT RATE: espeak-ng speech, trimmed of its own leading and trailing
# silence, as mono 16-bit WAV at RATE Hz.
speak() {
  local voice="$1" text="$2" out="$3" rate="$4"
  espeak-ng -v "$voice" -s 165 -w "$WORK/raw.wav" "$text"
  sox "$WORK/raw.wav" -r "$rate" -c 1 -b 16 "$out" \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse
}

# pad IN OUT BEFORE AFTER: add seconds of silence before and after.
pad() {
  sox "$1" "$2" pad "$3" "$4"
}

# Tutor lines: one WAV per entry of index.json.
python3 - "$VOICES/index.json" <<'PY' > "$WORK/lines.tsv"
import json, sys
for line in json.load(open(sys.argv[1]))["lines"]:
    print(f"{line['file']}\t{line['text']}")
PY
while IFS=$'\t' read -r file text; do
  speak en-us "$text" "$VOICES/$file" 16000
  echo "voices/$file"
done < "$WORK/lines.tsv"

# Learner recordings for tests (a fake microphone gives ~1.5 s before capture settles).
mkdir -p "$ASSETS"
speak en-gb "Yesterday I go to the market and buy two apple." "$WORK/hello.wav" 16000
pad "$WORK/hello.wav" "$ASSETS/learner_hello.wav" 1.5 1.5
speak en-gb "On weekends I usually staying at home and I am reading books, because I like very much the detective stories and they are more interesting for me than the television." "$WORK/long.wav" 16000
pad "$WORK/long.wav" "$ASSETS/learner_long.wav" 1.5 1.5
# Silent long enough for the tutor's greeting to start, then the learner cuts in.
speak en-gb "Sorry, can I ask a question?" "$WORK/barge.wav" 16000
pad "$WORK/barge.wav" "$ASSETS/learner_barge_in.wav" 4.0 2.0
ls -l "$ASSETS"
