"""The microphone check: what the browser measured, judged in plain words.

The page (realtime_call.jsx, command "check") listens for a few seconds while the learner
says a sentence and reports the loudest level, the room's level between words and how
much speech the speech model heard. The verdict and its words live here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Below this the microphone sends (near) digital silence: muted, unplugged or blocked.
SILENT_PEAK_DBFS = -60
# A room this loud between words (after the browser's noise suppression) will be heard
# by the tutor too: a fan close by, music, a busy café.
NOISY_ROOM_DBFS = -42
# At least this much confirmed speech: the learner was heard.
HEARD_SPEECH_MS = 300


class MicVerdict(StrEnum):
    SILENT = "silent"
    FAINT = "faint"
    NOISY = "noisy"
    GOOD = "good"


MESSAGES: dict[MicVerdict, str] = {
    MicVerdict.SILENT: (
        "We can't hear you: check the microphone. Make sure it is plugged in, not muted, "
        "and chosen in your system's sound settings, then check again."
    ),
    MicVerdict.FAINT: (
        "We hear your microphone but not your voice. Speak a full sentence close to it "
        "while the check runs, then check again."
    ),
    MicVerdict.NOISY: (
        "There's a lot of background noise: headphones will help. In a very noisy place, "
        "turn on push-to-talk and hold the button (or Space) while you speak."
    ),
    MicVerdict.GOOD: "Sounds good. You're ready for your lesson.",
}


@dataclass(frozen=True)
class MicCheck:
    verdict: MicVerdict
    message: str

    @property
    def suggests_push_to_talk(self) -> bool:
        return self.verdict is MicVerdict.NOISY


def judge(*, peak_dbfs: int, noise_dbfs: int, speech_ms: int) -> MicCheck:
    if peak_dbfs < SILENT_PEAK_DBFS:
        verdict = MicVerdict.SILENT
    elif noise_dbfs >= NOISY_ROOM_DBFS:
        verdict = MicVerdict.NOISY
    elif speech_ms < HEARD_SPEECH_MS:
        verdict = MicVerdict.FAINT
    else:
        verdict = MicVerdict.GOOD
    return MicCheck(verdict, MESSAGES[verdict])
