"""The languages Fluentio teaches and explains in, defined once.

Everything that knows about languages — the profile pickers, the tutor's instructions,
the session config's transcription language, the analysis prompt, "Hear it", the
simulator's scripts and voices, History — reads them here. Adding a language is one
`Language(...)` entry below (plus, for `make run` without a key, a simulator script: see
README, "Languages").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1, also what is stored in the database
    name: str  # in English: the tutor's instructions and the analysis prompt use it
    native: str  # in the language itself: the pickers show it
    espeak_voice: str  # the simulator's espeak-ng voice (scripts/make-sim-voices.sh, "Hear it")
    transcription: str  # the Realtime API's `audio.input.transcription.language`

    @property
    def label(self) -> str:
        """`Spanish · Español`, as the pickers show it (`English` alone for English)."""
        return self.name if self.name == self.native else f"{self.name} · {self.native}"


LANGUAGES: tuple[Language, ...] = (
    Language("en", "English", "English", "en-us", "en"),
    Language("es", "Spanish", "Español", "es", "es"),
    Language("fr", "French", "Français", "fr-fr", "fr"),
    Language("de", "German", "Deutsch", "de", "de"),
    Language("it", "Italian", "Italiano", "it", "it"),
    Language("pt", "Portuguese", "Português", "pt-br", "pt"),
)

DEFAULT_LANGUAGE = "en"
CODES: tuple[str, ...] = tuple(language.code for language in LANGUAGES)

_BY_CODE = {language.code: language for language in LANGUAGES}


def get_language(code: str | None) -> Language:
    """The language for `code` (case-insensitive); English for anything unknown."""
    return _BY_CODE.get((code or "").strip().lower(), _BY_CODE[DEFAULT_LANGUAGE])


def is_supported(code: str | None) -> bool:
    return (code or "").strip().lower() in _BY_CODE


def name(code: str | None) -> str:
    """`Spanish` for `es` (History's label)."""
    return get_language(code).name


def options() -> list[tuple[str, str]]:
    """(code, label) pairs for a picker, in the order above."""
    return [(language.code, language.label) for language in LANGUAGES]
