"""The tutor's instructions for one call, built from the learner's level, the chosen
scenario, the words they want to practise and the mistakes they keep making."""

from __future__ import annotations

from collections.abc import Sequence

from fluentio.classroom.scenarios import DEFAULT_SCENARIO_ID, get_scenario
from fluentio.languages import get_language
from fluentio.levels import LEVEL_NAMES

# How to speak to a learner at each CEFR level.
_LEVEL_STYLE: dict[str, str] = {
    "A1": (
        "Use very short sentences, the most common words and the present tense. Speak "
        "slowly and clearly. Ask yes/no or either/or questions. Repeat a question in "
        "simpler words if the learner seems lost."
    ),
    "A2": (
        "Use short, simple sentences and everyday words; past and future are fine. Speak "
        "a little slower than usual. Ask simple open questions about concrete things."
    ),
    "B1": (
        "Use clear, natural {language} at a moderate pace with common idioms only when they "
        "are easy to guess. Ask open questions that invite a few sentences, such as why "
        "and how."
    ),
    "B2": (
        "Speak naturally at a normal pace. Use a wider vocabulary and some phrasal verbs "
        "and idioms. Ask for opinions, comparisons and examples."
    ),
    "C1": (
        "Speak naturally and idiomatically at full speed. Bring in nuance, hypotheticals "
        "and abstract topics. Push for precise word choice and well-structured answers."
    ),
    "C2": (
        "Speak as with a fluent colleague: idiomatic, fast, with subtle humour and "
        "register changes. Challenge the learner's arguments and expect precise, "
        "nuanced language."
    ),
}

_RULES = """\
How to run the conversation:
- Speak only {language}. If the learner uses another language, answer in simple {language} and help them say it in {language}.
- Keep each reply short: one to three sentences, then hand the turn back.
- Ask exactly one question at a time, and wait for the answer.
- Let the learner do most of the talking. Never lecture.
- Correct gently by recasting: repeat what the learner meant, correctly and naturally, inside your reply ("Oh, you went to the cinema yesterday? What did you see?"). Do not list mistakes or explain grammar unless they ask.
- If the learner is stuck, offer two possible words or a sentence starter.
- If the learner interrupts you, stop and follow what they said.
- Stay in the role-play, warm and encouraging, and keep it safe and friendly."""

MAX_VOCABULARY = 10
MAX_PATTERNS = 5


def build_instructions(
    level: str,
    scenario_id: str,
    vocabulary: Sequence[str] = (),
    patterns: Sequence[str] = (),
    deck_words: Sequence[str] = (),
    unclear_words: Sequence[str] = (),
    *,
    language: str = "en",
) -> str:
    """The system instructions for the tutor in one call.

    `level` is a CEFR level (A1–C2; anything else is treated as B1), `scenario_id` one
    of the catalogue's ids (unknown ids fall back to small talk), `vocabulary` words the
    learner wants to practise, `patterns` their recent recurring mistakes, `deck_words`
    their vocabulary deck's items due for review, and `unclear_words` the words the speech
    recogniser was unsure of in their last lesson. `language` (fluentio/languages.py) is
    the one practised: the instructions stay in English, and tell the tutor to speak only it.
    """
    level = level if level in _LEVEL_STYLE else "B1"
    scenario = get_scenario(scenario_id) or get_scenario(DEFAULT_SCENARIO_ID)
    assert scenario is not None

    spoken = get_language(language).name
    parts = [
        f"You are Fluentio, a friendly {spoken} speaking tutor on a live voice call with a "
        "learner. The goal is speaking practice: the learner should speak a lot, feel at "
        "ease and leave a little more fluent.",
        f"The learner's level is {level} ({LEVEL_NAMES[level]}, CEFR) in {spoken}. "
        + _LEVEL_STYLE[level].format(language=spoken),
        f"Scenario: {scenario.title}. {scenario.setup}\nStart the call yourself: {scenario.opening}",
        _RULES.format(language=spoken),
    ]
    if spoken != "English":
        parts.append(
            f"These instructions are written in English, but the whole call is in {spoken}: "
            f"greet, play the role and answer only in {spoken}, at the learner's level. Keep the "
            f"learner's target words and the words below in {spoken} as written."
        )

    for values, limit, listing, template in (
        (vocabulary, MAX_VOCABULARY, _quoted, _TARGET_WORDS),
        (patterns, MAX_PATTERNS, _bullets, _RECURRING_MISTAKES),
        (deck_words, MAX_VOCABULARY, _quoted, _DECK_WORDS),
        (unclear_words, MAX_VOCABULARY, _quoted, _UNCLEAR_WORDS),
    ):
        cleaned = _clean(values, limit)
        if cleaned:
            parts.append(template.format(listed=listing(cleaned)))

    return "\n\n".join(parts)


# What the learner brings to this call, each a paragraph when there is any: `{listed}`
# is the words (quoted, comma-separated) or the mistakes (one per line).
_TARGET_WORDS = (
    "Target vocabulary: {listed}. Use these words naturally in your own replies, and ask "
    "questions that make the learner want to use them. When the learner uses one "
    "correctly, acknowledge it briefly."
)
_RECURRING_MISTAKES = (
    "Recurring mistakes from this learner's recent sessions:\n{listed}\nSteer the "
    "conversation so they get chances to practise these on purpose, and recast the correct "
    "form when the mistake comes up again."
)
_DECK_WORDS = (
    "Words from the learner's review deck, due today: {listed}. Use these naturally in the "
    "conversation and get the learner to say them, one at a time, without turning the call "
    "into a quiz."
)
_UNCLEAR_WORDS = (
    "In the last lesson the speech recogniser could not make out these words clearly: "
    "{listed}. Early in the call, ask a question that gets the learner to use each of them "
    "again. If one still sounds unclear, say it clearly yourself and invite them to repeat "
    "it once; then move on."
)


def _quoted(words: list[str]) -> str:
    return ", ".join(f'"{word}"' for word in words)


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _clean(values: Sequence[str], limit: int) -> list[str]:
    """Trimmed, de-duplicated (case-insensitively), non-empty values, at most `limit`."""
    seen: set[str] = set()
    cleaned: list[str] = []
    for value in values:
        text = " ".join(str(value).split())
        if text and text.lower() not in seen:
            seen.add(text.lower())
            cleaned.append(text)
        if len(cleaned) == limit:
            break
    return cleaned


# The placement call (scenarios.PLACEMENT_SCENARIO): about ten questions in five minutes,
# two at each step from A1 to C1, so its analysis (fluentio/placement/analysis.py) has the
# learner's answers at every level to judge.
PLACEMENT_STEPS: tuple[tuple[str, str], ...] = (
    ("A1", "personal facts with simple words: their name, where they live, their family or work"),
    ("A2", "their daily routine and what they did last weekend (simple past)"),
    ("B1", "a plan or experience they care about, and why (ask for reasons and a short story)"),
    ("B2", "their opinion on an everyday issue, e.g. working from home, with pros and cons"),
    ("C1", "an abstract or hypothetical question, e.g. how their field might change in ten years"),
)


def build_placement_instructions(language: str = "en") -> str:
    """The tutor's instructions for the five-minute placement call: questions that climb
    from A1 to C1, with no teaching, so the learner's own answers show their level in the
    language they practise (`language`, fluentio/languages.py)."""
    spoken = get_language(language).name
    steps = "\n".join(
        f"{number}. {level} ({LEVEL_NAMES[level]}): ask about {topic}."
        for number, (level, topic) in enumerate(PLACEMENT_STEPS, start=1)
    )
    return "\n\n".join(
        [
            f"You are Fluentio, a friendly {spoken} examiner holding a five-minute placement "
            "conversation on a live voice call. Its only purpose is to hear how well the learner "
            "speaks, so their level can be found afterwards.",
            "Start the call yourself: greet the learner, say this takes about five minutes and "
            "that the questions get harder as you go, then ask the first question.",
            "Climb through these steps, two short questions at each, in this order. Speak at the "
            f"step's level yourself (simple and slow at A1, natural and idiomatic at C1):\n{steps}",
            f"""\
How to run the placement:
- Speak only {spoken}. Keep each of your turns to one or two sentences and ask exactly one question at a time.
- Let the learner talk; invite a longer answer once (in {spoken}: "Can you tell me more?") when they say very little.
- Do not correct, teach or praise specific answers; a short neutral acknowledgement is enough.
- If the learner cannot answer both questions of a step, ask one easier question from the step below and then close the call; do not keep climbing.
- After the C1 step (or when you close early), thank the learner and tell them their level will appear in their lesson history in a moment.
- Stay warm and calm: this is not a test they can fail.""",
        ]
    )
