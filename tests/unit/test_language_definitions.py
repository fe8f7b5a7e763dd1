"""One definition of the languages (fluentio/languages.py), and everything that reads it:
the tutor's instructions, the session config's transcription language, the analysis
prompt, the simulator's scripts, voices and feedback rules."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from fluentio import languages
from fluentio.classroom.instructions import build_instructions
from fluentio.classroom.realtime_config import build_session_config
from fluentio.feedback.analysis import build_input, prepare_transcript
from fluentio.feedback.fluency import Line
from fluentio.feedback.speech import speech_cache_key, speech_instructions
from fluentio.settings import Settings
from fluentio.simulator import script
from fluentio.simulator.responses import analyse_transcript, input_text
from fluentio.simulator.speech import voice_for

OTHERS = [language for language in languages.LANGUAGES if language.code != "en"]


def test_six_languages_each_defined_once() -> None:
    assert languages.CODES == ("en", "es", "fr", "de", "it", "pt")
    assert len({language.espeak_voice for language in languages.LANGUAGES}) == 6
    es = languages.get_language("ES")
    assert (es.name, es.native, es.transcription, es.label) == (
        "Spanish",
        "Español",
        "es",
        "Spanish · Español",
    )
    assert languages.get_language("en").label == "English"
    # Anything unknown is English, and is not "supported" (the profile refuses it).
    assert languages.get_language("xx").code == "en" and not languages.is_supported("xx")
    assert languages.is_supported(" pt ") and languages.name("de") == "German"
    assert languages.options()[1] == ("es", "Spanish · Español")


@pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (the voice check needs it)"
)
def test_every_espeak_voice_exists() -> None:
    listed = subprocess.run(["espeak-ng", "--voices"], capture_output=True, text=True, check=True).stdout
    names = {row.split()[1] for row in listed.splitlines()[1:] if len(row.split()) > 1}
    assert {language.espeak_voice for language in languages.LANGUAGES} <= names


def test_instructions_speak_the_target_language_at_the_level() -> None:
    spanish = build_instructions("A2", "ordering_food", ["la cuenta"], language="es")
    assert "a friendly Spanish speaking tutor" in spanish
    assert "The learner's level is A2 (Elementary, CEFR) in Spanish." in spanish
    assert "Speak only Spanish. If the learner uses another language, answer in simple Spanish" in spanish
    assert "the whole call is in Spanish" in spanish
    assert 'Target vocabulary: "la cuenta"' in spanish
    assert "English" not in spanish.replace("These instructions are written in English", "")
    french_b1 = build_instructions("B1", "small_talk", language="fr")
    assert "clear, natural French" in french_b1
    # English stays as it was, with no note about another language.
    english = build_instructions("B1", "small_talk")
    assert "Speak only English." in english and "whole call is in" not in english
    assert build_instructions("B1", "small_talk", language="xx") == english


@pytest.mark.parametrize("code", languages.CODES)
def test_the_session_config_transcribes_the_target_language(code: str) -> None:
    config = build_session_config(settings=Settings(), instructions="x", language=code)
    assert config["audio"]["input"]["transcription"]["language"] == code  # type: ignore[index,typeddict-item]


def test_the_analysis_prompt_asks_for_explanations_in_the_learners_language() -> None:
    lines = [Line("tutor", "¿Qué hiciste ayer?"), Line("learner", script.LEARNER_LINES_BY_LANGUAGE["es"][0])]
    system, user = build_input(
        prepare_transcript(lines), level="A2", topic="x", language="es", explanation_language="de"
    )
    assert "encouraging Spanish tutor" in system["content"]
    assert "Analyse only the Learner's Spanish" in system["content"]
    assert "`original`, `corrected` and newWords stay in\nSpanish" in system["content"]
    assert "the summary in German, the learner's own language" in system["content"]
    assert "Language practised: Spanish (es). Explanations in: German (de)." in user["content"]
    english = build_input(prepare_transcript(lines), level="B1", topic="x")[0]["content"]
    assert "encouraging English tutor" in english and "summary in English" in english


def test_hear_it_keys_and_asks_for_the_language() -> None:
    same = {"model": "m", "voice": "v", "text": "casa"}
    assert speech_cache_key(**same, language="es") != speech_cache_key(**same, language="pt")
    assert speech_cache_key(**same) == speech_cache_key(**same, language="en")
    assert speech_instructions("it").startswith("Speak in Italian")
    # The simulator's Speech API picks espeak-ng's voice from those instructions.
    assert voice_for(speech_instructions("it")) == "it"
    assert voice_for(speech_instructions("pt")) == "pt-br"
    assert voice_for(None) == "en-us"


@pytest.mark.parametrize("language", OTHERS, ids=lambda language: language.code)
def test_the_simulator_has_a_script_and_voices_for_every_language(language: languages.Language) -> None:
    folder = script.VOICES_DIR / language.code
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    assert index["lines"][0]["kind"] == "greeting"
    assert all((folder / entry["file"]).stat().st_size > 10_000 for entry in index["lines"])
    lines = script.tutor_lines(language.code)
    assert script.tutor_reply(0, language.code) is lines[0]
    assert script.tutor_reply(len(lines), language.code) is lines[1]  # replies cycle after the greeting
    assert script.learner_transcript(1, language.code) == script.LEARNER_LINES_BY_LANGUAGE[language.code][0]
    # Its first learner line has the word the recogniser is unsure of.
    [(word, sure)] = script.UNCLEAR_WORDS_BY_LANGUAGE[language.code].items()
    tokens = script.transcript_logprobs(script.learner_transcript(1, language.code), language.code)
    assert (
        any(t["logprob"] < -1 for t in tokens) and word in script.learner_transcript(1, language.code).lower()
    )
    assert sure < 0.5


@pytest.mark.parametrize("language", OTHERS, ids=lambda language: language.code)
def test_the_feedback_simulator_corrects_each_language_and_explains_in_the_learners(
    language: languages.Language,
) -> None:
    learner = script.LEARNER_LINES_BY_LANGUAGE[language.code]
    lines = [
        Line("learner" if i % 2 else "tutor", learner[i // 2] if i % 2 else "…")
        for i in range(2 * len(learner))
    ]
    for explained, sample in (("en", None), ("fr", "Dis plutôt"), ("es", "Mejor di")):
        messages = build_input(
            prepare_transcript(lines),
            level="B1",
            topic="x",
            language=language.code,
            explanation_language=explained,
        )
        answer = analyse_transcript(input_text(messages))
        assert len(answer["corrections"]) == len(learner), explained
        for correction in answer["corrections"]:
            assert correction["original"] in learner and correction["corrected"] != correction["original"]
            if sample is None:
                assert "'" in correction["explanation"] or ":" in correction["explanation"]
            else:
                assert correction["explanation"].startswith(sample)


def test_the_spanish_simulator_fixes_the_scripted_mistakes_in_english() -> None:
    learner = script.LEARNER_LINES_BY_LANGUAGE["es"]
    transcript = "Language practised: Spanish (es). Explanations in: English (en).\n" + "\n".join(
        f"Learner: {line}" for line in learner
    )
    answer = analyse_transcript(transcript)
    first = answer["corrections"][0]
    assert first["corrected"] == "Ayer fui al mercado y compré dos manzanas."
    assert first["explanation"].startswith("'Ayer' (yesterday) is a finished time")
    assert answer["summary"].startswith("You spoke")
    assert "Preterite for finished events (ayer fui, compré)" in answer["badPatterns"]
