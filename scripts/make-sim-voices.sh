#!/usr/bin/env bash
# Render the speech the local Realtime simulator and its tests use, with espeak-ng + sox.
#
#   scripts/make-sim-voices.sh          # tutor lines (fluentio/simulator/voices) and test WAVs
#   scripts/make-sim-voices.sh languages # only the other languages: voices/<code>/ and the Spanish test learner
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

# lines INDEX: "file<TAB>text" for each entry of a voices index.json.
lines() {
  python3 - "$1" <<'PY'
import json, sys
for line in json.load(open(sys.argv[1], encoding="utf-8"))["lines"]:
    print(f"{line['file']}\t{line['text']}")
PY
}

# Other languages: voices/<code>/index.json, spoken with the espeak-ng voice that
# fluentio/languages.py gives the language (read from that file, which needs no packages).
python3 - "$ROOT/fluentio/languages.py" <<'PY' > "$WORK/languages.tsv"
import importlib.util, sys
spec = importlib.util.spec_from_file_location("languages", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["languages"] = module
spec.loader.exec_module(module)
for language in module.LANGUAGES:
    if language.code != module.DEFAULT_LANGUAGE:
        print(f"{language.code}\t{language.espeak_voice}")
PY
while IFS=$'\t' read -r code voice; do
  [ -f "$VOICES/$code/index.json" ] || { echo "make-sim-voices: no script for $code (voices/$code/index.json)" >&2; continue; }
  lines "$VOICES/$code/index.json" > "$WORK/lines-$code.tsv"
  while IFS=$'\t' read -r file text; do
    speak "$voice" "$text" "$VOICES/$code/$file" 16000
    echo "voices/$code/$file"
  done < "$WORK/lines-$code.tsv"
done < "$WORK/languages.tsv"
# A Spanish learner for the fake microphone of tests/e2e/test_spanish_lesson.py, laid out
# like classroom_learner.wav: 6 s of silence (the greeting), a sentence, 1.7 s (the tutor
# starts answering), a second sentence over the tutor, then silence (21.5 s in all).
mkdir -p "$ASSETS"
speak es "Ayer yo va al mercado y compro dos manzana." "$WORK/es1.wav" 16000
speak es "Después yo encontré mi amigo y nosotros hablaba de una película." "$WORK/es2.wav" 16000
sox -n -r 16000 -c 1 -b 16 "$WORK/gap.wav" trim 0 1.7
sox "$WORK/es1.wav" "$WORK/gap.wav" "$WORK/es2.wav" "$WORK/es-speech.wav"
sox "$WORK/es-speech.wav" "$ASSETS/classroom_learner_es.wav" pad 6.0 30 trim 0 21.5
echo "tests/assets/audio/classroom_learner_es.wav"
[ "${1:-}" = languages ] && exit 0

# English tutor lines: one WAV per entry of index.json.
lines "$VOICES/index.json" > "$WORK/lines.tsv"
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
