#!/usr/bin/env bash
# Render the noise corpus the barge-in tests and `make bench` play on the fake microphone
# while the tutor talks: every sound a learner's room makes that must NOT cut the tutor.
#
#   scripts/make-noise-corpus.sh     # writes tests/assets/audio/noise/*.wav
#
# The WAVs (16 kHz mono, a few seconds each) are committed; run this again only to change
# them. Needs: sox, espeak-ng (`apt-get install sox espeak-ng`). Levels are relative to the
# learner recordings (speech at about -23 dBFS RMS): room noises as loud as or louder than
# the voice, a distant TV and the tutor's own echo well below it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/tests/assets/audio/noise"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
for tool in sox espeak-ng; do
  command -v "$tool" >/dev/null || { echo "make-noise-corpus: $tool is not installed" >&2; exit 1; }
done
mkdir -p "$OUT"
FMT=(-r 16000 -c 1 -b 16)

# A key press: a 12 ms click of high-passed white noise that dies away.
sox -n "${FMT[@]}" "$WORK/key.wav" synth 0.012 whitenoise gain -8 highpass 1500 fade 0 0.012 0.010
sox -n "${FMT[@]}" "$WORK/gap.wav" trim 0 0.09
parts=()
for i in $(seq 1 24); do
  parts+=("$WORK/key.wav")
  sox -n "${FMT[@]}" "$WORK/gap$i.wav" trim 0 "0.$(printf %02d $((8 + (i * 7) % 13)))"
  parts+=("$WORK/gap$i.wav")
done
sox "${parts[@]}" "$OUT/typing.wav"

# Two coughs: bursts of band-passed pink noise with a sharp attack.
sox -n "${FMT[@]}" "$WORK/cough.wav" synth 0.22 pinknoise bandpass 700 1.2q fade q 0.01 0.22 0.15 gain 14
sox -n "${FMT[@]}" "$WORK/pause.wav" trim 0 0.35
sox "$WORK/cough.wav" "$WORK/pause.wav" "$WORK/cough.wav" "$OUT/cough.wav" gain -n -6

# Knocks on a desk or door: low thumps with a click on top.
sox -n "${FMT[@]}" "$WORK/tone.wav" synth 0.12 sine 110
sox -n "${FMT[@]}" "$WORK/body.wav" synth 0.12 brownnoise gain -6
sox -m "$WORK/tone.wav" "$WORK/body.wav" "$WORK/thump.wav" fade q 0.002 0.12 0.10
sox -n "${FMT[@]}" "$WORK/rest.wav" trim 0 0.25
sox "$WORK/thump.wav" "$WORK/rest.wav" "$WORK/thump.wav" "$WORK/rest.wav" "$WORK/thump.wav" \
  "$OUT/knock.wav" gain -n -3

# A fan with mains hum: brown noise low-passed, plus 50/100 Hz, for the whole clip.
sox -n "${FMT[@]}" "$WORK/fan.wav" synth 12 brownnoise lowpass 900 gain -n -18
sox -n "${FMT[@]}" "$WORK/hum50.wav" synth 12 sine 50
sox -n "${FMT[@]}" "$WORK/hum100.wav" synth 12 sine 100
sox -m "$WORK/hum50.wav" "$WORK/hum100.wav" "$WORK/hum.wav" gain -n -30
sox -m "$WORK/fan.wav" "$WORK/hum.wav" "$OUT/fan.wav"

# Music from the next room: a plucked arpeggio, looped.
sox -n "${FMT[@]}" "$WORK/note1.wav" synth 0.3 pluck C4 gain -n -12
sox -n "${FMT[@]}" "$WORK/note2.wav" synth 0.3 pluck E4 gain -n -12
sox -n "${FMT[@]}" "$WORK/note3.wav" synth 0.3 pluck G4 gain -n -12
sox -n "${FMT[@]}" "$WORK/note4.wav" synth 0.3 pluck C5 gain -n -12
sox "$WORK"/note{1,2,3,4}.wav "$WORK"/note{3,2,1,2}.wav "$WORK/bar.wav"
sox "$WORK/bar.wav" "$WORK/bar.wav" "$WORK/bar.wav" "$OUT/music.wav"

# A TV in another room: a voice, muffled, with reverb, far below the learner's.
espeak-ng -v en-us -s 170 -w "$WORK/tv_raw.wav" \
  "And now the weather for the weekend. Expect sunshine in the south and some rain in the north."
sox "$WORK/tv_raw.wav" "${FMT[@]}" "$OUT/tv.wav" lowpass 2500 reverb 60 gain -n -26 trim 0 4

# The tutor's own voice coming back from laptop speakers after echo cancellation.
sox "$ROOT/fluentio/simulator/voices/tutor_01_market.wav" "${FMT[@]}" "$OUT/echo.wav" \
  highpass 300 reverb 30 gain -n -28 trim 0 4

# A backchannel while the tutor talks: a short "mm-hm".
espeak-ng -v en-us -s 230 -w "$WORK/mmhm_raw.wav" "mm hm"
sox "$WORK/mmhm_raw.wav" "${FMT[@]}" "$OUT/mmhm.wav" \
  silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse gain -n -6
