"""`POST /v1/responses` of the local simulator: session feedback without a model.

It reads the transcript from the request's input, finds typical learner mistakes with
fixed rules (past simple after "yesterday", "two apple", "he don't", "enjoy to solve"…),
and answers in the Responses API's real shape. With a `json_schema` text format it
behaves like OpenAI's strict structured outputs: a schema that is not strict-valid is a
400, and the answer is checked against the schema before it is sent. The same transcript
always gives the same answer.

Other languages: the request's input names the language practised and the one to explain
in ("Language practised: Spanish (es). Explanations in: English (en)." — see
fluentio/feedback/analysis.py); the rules and the learner's words then come from
foreign_rules.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from fluentio.levels import LEVELS
from fluentio.simulator.auth import server_key_error
from fluentio.simulator.session import openai_error

# ---------------------------------------------------------------------------------------
# Rules: each finds one kind of mistake in a sentence and rewrites it.
# ---------------------------------------------------------------------------------------

PAST = {
    "go": "went", "goes": "went", "eat": "ate", "eats": "ate", "see": "saw", "sees": "saw",
    "buy": "bought", "buys": "bought", "have": "had", "has": "had", "do": "did", "does": "did",
    "make": "made", "makes": "made", "take": "took", "takes": "took", "come": "came",
    "comes": "came", "meet": "met", "meets": "met", "get": "got", "gets": "got",
    "watch": "watched", "play": "played", "visit": "visited", "work": "worked",
    "walk": "walked", "cook": "cooked", "live": "lived", "study": "studied", "like": "liked",
    "want": "wanted", "is": "was", "are": "were", "am": "was", "think": "thought",
    "tell": "told", "say": "said", "write": "wrote", "swim": "swam", "drive": "drove",
    "find": "found", "feel": "felt", "leave": "left", "speak": "spoke", "sleep": "slept",
    "spend": "spent", "stay": "stayed", "travel": "travelled", "talk": "talked",
}  # fmt: skip
PARTICIPLE = {"meet": "met", "go": "gone", "see": "seen", "buy": "bought", "eat": "eaten", "do": "done",
              "make": "made", "take": "taken", "come": "come", "speak": "spoken", "write": "written"}  # fmt: skip
THIRD_PERSON = {
    "want": "wants", "like": "likes", "need": "needs", "live": "lives", "work": "works",
    "go": "goes", "have": "has", "do": "does", "play": "plays", "make": "makes", "say": "says",
    "know": "knows", "think": "thinks", "love": "loves", "study": "studies", "watch": "watches",
}  # fmt: skip
PLURAL = {
    "apple": "apples", "book": "books", "friend": "friends", "year": "years", "day": "days",
    "hour": "hours", "minute": "minutes", "week": "weeks", "month": "months",
    "brother": "brothers", "sister": "sisters", "child": "children", "person": "people",
    "time": "times", "country": "countries", "city": "cities", "language": "languages",
    "dog": "dogs", "cat": "cats", "car": "cars", "kid": "kids", "class": "classes",
    "game": "games", "movie": "movies", "song": "songs", "dollar": "dollars", "euro": "euros",
}  # fmt: skip
JOBS = ("student", "teacher", "engineer", "doctor", "nurse", "developer", "programmer", "designer",
        "manager", "lawyer", "driver", "writer", "artist", "accountant", "architect")  # fmt: skip
ING_BASE = {"staying": "stay", "reading": "read", "making": "make", "taking": "take", "writing": "write",
            "living": "live", "having": "have", "coming": "come", "swimming": "swim", "running": "run",
            "sitting": "sit", "getting": "get", "watching": "watch", "playing": "play",
            "cooking": "cook", "working": "work", "going": "go", "doing": "do"}  # fmt: skip
NUMBERS = r"(?:two|three|four|five|six|seven|eight|nine|ten|many|several|\d+)"
PAST_MARKER = re.compile(
    r"\b(yesterday|last (?:night|week|weekend|month|year|summer|winter|time)|ago|after that)\b", re.I
)
HABIT_MARKER = re.compile(r"\b(usually|often|always|sometimes|never|every|on weekends)\b", re.I)
AUXILIARIES = r"(?<!\bdoes )(?<!\bdid )(?<!\bcan )(?<!\bwill )(?<!\bwould )(?<!\bcould )(?<!\bshould )(?<!\bmust )(?<!\blet )"


def _ing_base(word: str) -> str:
    lower = word.lower()
    if lower in ING_BASE:
        return ING_BASE[lower]
    return lower[:-3] if lower.endswith("ing") else lower


def _keep_case(old: str, new: str) -> str:
    return new[:1].upper() + new[1:] if old[:1].isupper() else new


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    replace: Callable[[re.Match[str]], str]
    category: str
    label: str
    explanation: str
    suggestion: str
    when: re.Pattern[str] | None = None


def _rule(
    regex: str,
    replace: str | Callable[[re.Match[str]], str],
    category: str,
    label: str,
    explanation: str,
    suggestion: str,
    when: re.Pattern[str] | None = None,
) -> Rule:
    def as_function(match: re.Match[str]) -> str:
        return match.expand(replace) if isinstance(replace, str) else replace(match)

    return Rule(re.compile(regex, re.I), as_function, category, label, explanation, suggestion, when)


def _past(match: re.Match[str]) -> str:
    return f"{match.group(1)} {PAST[match.group(2).lower()]}"


def _have_participle(match: re.Match[str]) -> str:
    return f"{match.group(1)} {PAST[match.group(2).lower()]}"


RULES: tuple[Rule, ...] = (
    _rule(
        r"\b(I|you|we|they) have (" + "|".join(PARTICIPLE) + r")\b",
        _have_participle,
        "grammar",
        "Past simple for finished events (I met), not 'have' + base verb",
        "For a finished event use the past simple: 'I met', not 'I have meet'.",
        "Tell a short story about last weekend using only the past simple.",
        when=PAST_MARKER,
    ),
    _rule(
        r"\b(I|you|we|they|he|she|it|and) (" + "|".join(PAST) + r")\b",
        _past,
        "grammar",
        "Past simple: present tense used for past events",
        "You are talking about a finished time (like 'yesterday'), so use the past simple.",
        "Describe what you did yesterday, step by step, with past-simple verbs (went, bought, met).",
        when=PAST_MARKER,
    ),
    _rule(
        r"\b(we|you|they) was\b",
        lambda m: f"{m.group(1)} were",
        "grammar",
        "Was/were: we were, they were, you were",
        "With 'we', 'you' and 'they' the past of 'be' is 'were'.",
        "Practise 'we were', 'they were' in a few sentences about your friends.",
    ),
    _rule(
        r"\b(he|she|it) don't\b",
        lambda m: f"{m.group(1)} doesn't",
        "grammar",
        "He/she/it: doesn't, not don't",
        "With he, she and it the negative is 'doesn't'.",
        "Say three things your friend doesn't like.",
    ),
    _rule(
        AUXILIARIES
        + r"\b(he|she|it|(?<!people )(?<!children )(?<!s )who) ("
        + "|".join(THIRD_PERSON)
        + r")\b",
        lambda m: f"{m.group(1)} {THIRD_PERSON[m.group(2).lower()]}",
        "grammar",
        "Third person: add -s (he wants, a man who wants)",
        "After he, she, it or a single person, the present-simple verb takes -s.",
        "Describe a friend's daily routine: she works, she likes, she goes…",
    ),
    _rule(
        r"\b(" + NUMBERS + r") (" + "|".join(PLURAL) + r")\b",
        lambda m: f"{m.group(1)} {PLURAL[m.group(2).lower()]}",
        "grammar",
        "Plural nouns: add -s after numbers (two apples)",
        "After a number bigger than one, the noun is plural.",
        "Count things around you out loud: two chairs, three books, five windows.",
    ),
    _rule(
        r"\b(I am|I'm|he is|she is|he's|she's) (" + "|".join(JOBS) + r")\b",
        lambda m: f"{m.group(1)} {'an' if m.group(2)[0] in 'aeiou' else 'a'} {m.group(2)}",
        "grammar",
        "Articles: a/an before a job (I am a teacher)",
        "Use 'a' or 'an' before a job or any single countable thing.",
        "Introduce three people you know and their jobs: she is a nurse, he is an engineer.",
    ),
    _rule(
        r"\bI am agree\b",
        "I agree",
        "grammar",
        "'Agree' is a verb: I agree, not I am agree",
        "'Agree' is already a verb, so it needs no 'am'.",
        "Practise agreeing and disagreeing: I agree, I don't agree, I partly agree.",
    ),
    _rule(
        r"\b(travel|go|fly) (?:in|to) the space\b",
        lambda m: f"{m.group(1)} into space",
        "vocabulary",
        "No 'the' before 'space' (travel into space)",
        "We say 'into space' or 'to space', without 'the'.",
        "Talk about a dream journey: where would you like to travel?",
    ),
    _rule(
        r"\bafraid (?:from|about) (?:the )?(height|heights|\w+)",
        lambda m: "afraid of " + ("heights" if m.group(1).lower() == "height" else m.group(1)),
        "vocabulary",
        "Prepositions: afraid of, interested in, good at",
        "We say 'afraid of' something.",
        "Make sentences with 'afraid of', 'interested in' and 'good at'.",
    ),
    _rule(
        r"\b(I|we|they|you) (usually|often|always|sometimes|never) (\w+ing)\b",
        lambda m: f"{m.group(1)} {m.group(2)} {_ing_base(m.group(3))}",
        "grammar",
        "Present simple for habits (I usually stay), not -ing",
        "For habits and routines use the present simple, not the -ing form.",
        "Describe your typical week with 'usually', 'often' and 'sometimes'.",
    ),
    _rule(
        r"\band (?:I am|I'm|we are) (\w+ing)\b",
        lambda m: f"and {_ing_base(m.group(1))}",
        "grammar",
        "Present simple for habits (I usually stay), not -ing",
        "For habits and routines use the present simple, not the -ing form.",
        "Describe your typical week with 'usually', 'often' and 'sometimes'.",
        when=HABIT_MARKER,
    ),
    _rule(
        r"\bI (like|love|enjoy) very much (?:the )?",
        lambda m: f"I really {m.group(1)} ",
        "vocabulary",
        "Word order: 'I really like X', not 'I like very much X'",
        "'Very much' never goes between the verb and its object; 'I really like…' sounds natural.",
        "Say five things you really like, starting with 'I really like…'.",
    ),
    _rule(
        r"\bI am (\w+ing) (.{0,40}?)since ((?:\d+|one|two|three|four|five|six|seven|eight|nine|ten) (?:years|months|weeks|days))\b",
        lambda m: f"I have been {m.group(1)} {m.group(2)}for {m.group(3)}",
        "grammar",
        "Present perfect continuous with 'for' (I have been reading… for five years)",
        "For something that started in the past and continues now, use 'have been + -ing', "
        "and 'for' with a length of time.",
        "Say how long you have been doing three things: I have been learning English for…",
    ),
    _rule(
        r"\bsince ((?:\d+|one|two|three|four|five|six|seven|eight|nine|ten) (?:years|months|weeks|days))\b",
        lambda m: f"for {m.group(1)}",
        "grammar",
        "'For' with a length of time, 'since' with a starting point",
        "Use 'for' with a length of time (for five years) and 'since' with a point (since 2019).",
        "Say how long you have been doing three things: I have been learning English for…",
    ),
    _rule(
        r"\bI am working (?:like|as) an? (\w+)",
        lambda m: f"I work as {'an' if m.group(1)[0] in 'aeiou' else 'a'} {m.group(1)}",
        "vocabulary",
        "Jobs: 'I work as a developer', not 'I am working like'",
        "For your job use the present simple and 'as': I work as a developer.",
        "Describe your job in three sentences starting with 'I work as…'.",
    ),
    _rule(
        r"\b(enjoy|enjoys|enjoyed|finish|avoid|mind|keep) to (\w+)(?:(.{0,40}?) and to (\w+))?",
        lambda m: (
            f"{m.group(1)} {_gerund(m.group(2))}"
            + (f"{m.group(3)} and {_gerund(m.group(4))}" if m.group(4) else "")
        ),
        "grammar",
        "Verb + -ing: enjoy solving, not enjoy to solve",
        "After 'enjoy', 'finish' and 'avoid' use the -ing form.",
        "Say three things you enjoy doing, with 'I enjoy + -ing'.",
    ),
    _rule(
        r"\b(want|need|would like|decided|plan|hope|try) (improve|learn|go|be|make|get|speak|practise|practice|find|buy|see|visit|travel|study|work)\b",
        lambda m: f"{m.group(1)} to {m.group(2)}",
        "grammar",
        "Verb + to: I want to improve",
        "After 'want', 'need' and 'hope' put 'to' before the next verb.",
        "Say three goals for this year, starting with 'I want to…'.",
    ),
    _rule(
        r"\bready for (answer|start|begin|go|do|learn|speak|talk)\b",
        lambda m: f"ready to {m.group(1)}",
        "grammar",
        "Ready to + verb (ready to answer)",
        "Before a verb we say 'ready to', not 'ready for'.",
        "Practise 'ready to' and 'ready for': ready to start, ready for the interview.",
    ),
    _rule(
        r"\b(for|learning|learn|about) the (job interviews|new technologies|detective stories)\b",
        lambda m: f"{m.group(1)} {m.group(2)}",
        "grammar",
        "No 'the' with plurals in general (I like detective stories)",
        "When you mean things in general, plural nouns need no 'the'.",
        "Talk about things you like in general, without 'the': I like films, I read novels.",
    ),
    _rule(
        r"\bmake (?:a )?photos?\b",
        "take a photo",
        "vocabulary",
        "Collocations: take a photo, make a decision",
        "In English you 'take' a photo.",
        "Learn verbs that go together with nouns: take a photo, make a mistake, do homework.",
    ),
    _rule(
        r"\bdiscuss about\b",
        "discuss",
        "vocabulary",
        "'Discuss' needs no 'about'",
        "'Discuss' takes its object directly: discuss the plan.",
        "Use 'discuss' and 'talk about' in two sentences each.",
    ),
    _rule(
        r"\bmore (better|worse|bigger|easier|faster|cheaper)\b",
        lambda m: m.group(1),
        "grammar",
        "Comparatives: better, not more better",
        "'Better' is already a comparative; 'more' is not needed.",
        "Compare two cities you know with short comparatives: bigger, cheaper, better.",
    ),
    _rule(
        r"\bI have (\d+) years\b",
        lambda m: f"I am {m.group(1)} years old",
        "vocabulary",
        "Age: I am 25 years old, not I have 25 years",
        "In English you 'are' an age.",
        "Introduce your family with their ages: my sister is 20 years old.",
    ),
    _rule(
        r"\bpeople is\b",
        "people are",
        "grammar",
        "'People' is plural: people are",
        "'People' is plural, so it takes 'are'.",
        "Describe people in your city: people are…",
    ),
    _rule(
        r"\b(have|has|are|there are) tree (brothers|sisters|children|kids|cats|dogs|days|times|years)\b",
        lambda m: f"{m.group(1)} three {m.group(2)}",
        "pronunciation",
        "The 'th' sound: three, think, thank",
        "'Three' starts with the 'th' sound: put your tongue between your teeth.",
        "Practise 'th' slowly: three, thirty, think, thank you.",
    ),
    _rule(
        r"\bI sink (that|so)\b",
        lambda m: f"I think {m.group(1)}",
        "pronunciation",
        "The 'th' sound: three, think, thank",
        "'Think' starts with the 'th' sound: put your tongue between your teeth.",
        "Practise 'th' slowly: three, thirty, think, thank you.",
    ),
)
FILLERS = re.compile(r"\s*\b(?:um+|uh+|erm|er)\b,?", re.I)
SENTENCE = re.compile(r"[^.!?]+[.!?]*")
WORD = re.compile(r"(?:[^\W\d_]|')+")
PRACTISED = re.compile(r"Language practised: [^(\n]*\((\w+)\)")
EXPLAINED = re.compile(r"Explanations in: [^(\n]*\((\w+)\)")
COMMON_LONG = frozenset(
    [
        "yesterday",
        "tomorrow",
        "something",
        "everything",
        "everybody",
        "anything",
        "interesting",
        "important",
        "together",
        "children",
        "favourite",
        "favorite",
        "different",
        "usually",
        "sometimes",
    ]
)
LINKERS = re.compile(r"\b(because|although|however|though|while|whereas|so that)\b", re.I)


def _gerund(verb: str) -> str:
    verb = verb.lower()
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith("ee"):
        return verb[:-1] + "ing"
    return verb + "ing"


@dataclass
class Found:
    original: str
    corrected: str
    category: str
    explanation: str
    labels: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)


def correct_sentence(sentence: str, rules: tuple[Rule, ...] | None = None) -> Found | None:
    """Apply every rule (English's unless given) to one learner sentence; None when nothing was wrong."""
    text = sentence.strip()
    found: Found | None = None
    for rule in RULES if rules is None else rules:
        if rule.when is not None and not rule.when.search(sentence):
            continue
        new = rule.pattern.sub(rule.replace, text)
        if new != text:
            if found is None:
                found = Found(sentence.strip(), "", rule.category, rule.explanation)
            if rule.label not in found.labels:
                found.labels.append(rule.label)
                found.suggestions.append(rule.suggestion)
            text = new
    if len(FILLERS.findall(text)) >= 2:
        cleaned = FILLERS.sub("", text).strip(" ,")
        if found is None:
            found = Found(
                sentence.strip(),
                "",
                "fluency",
                "Fillers like 'um' and 'uh' break up your sentence; a short silent pause sounds more fluent.",
            )
        found.labels.append("Fillers (um, uh): pause silently instead")
        found.suggestions.append("Practise answering slowly, pausing silently instead of saying 'um'.")
        text = cleaned
    if found is None:
        return None
    found.corrected = _keep_case(found.original, text)
    return found


def learner_sentences(transcript: str) -> list[str]:
    sentences: list[str] = []
    for line in transcript.splitlines():
        if line.lower().startswith("learner:"):
            spoken = line.split(":", 1)[1]
            sentences += [s.strip() for s in SENTENCE.findall(spoken) if s.strip()]
    return sentences


def estimate_level(words: list[str], sentences: int, mistakes: int) -> str:
    if not words:
        return "A1"
    per_sentence = len(words) / max(1, sentences)
    rank = 1 if per_sentence < 6 else 2 if per_sentence < 10 else 3 if per_sentence < 15 else 4
    per_hundred = 100 * mistakes / len(words)
    long_share = sum(len(w) >= 8 for w in words) / len(words)
    if per_hundred > 8:
        rank -= 1
    elif per_hundred < 2 and long_share > 0.1:
        rank += 1
    return LEVELS[max(0, min(len(LEVELS) - 1, rank))]


def requested_languages(text: str) -> tuple[str, str]:
    """The language practised and the one to explain in, as the request names them."""
    practised, explained = PRACTISED.search(text), EXPLAINED.search(text)
    return (practised.group(1) if practised else "en"), (explained.group(1) if explained else "en")


def _rules(language: str) -> tuple[Rule, ...]:
    if language == "en":
        return RULES
    from fluentio.simulator.foreign_rules import RULES_BY_LANGUAGE

    return RULES_BY_LANGUAGE.get(language, ())


def _explained(found: Found, explained: str) -> str:
    if explained == "en":
        return found.explanation
    from fluentio.simulator.foreign_rules import EXPLANATION_TEMPLATES

    template = EXPLANATION_TEMPLATES.get(explained)
    return template.format(corrected=found.corrected.rstrip(" .!?")) if template else found.explanation


def analyse_transcript(transcript: str) -> dict[str, Any]:
    """The feedback answer (schema field names) for a transcript, by rule."""
    language, explained = requested_languages(transcript)
    rules = _rules(language)
    sentences = learner_sentences(transcript)
    words = [w for s in sentences for w in WORD.findall(s)]
    corrections: list[dict[str, str]] = []
    patterns: list[str] = []
    suggestions: list[str] = []
    for sentence in sentences:
        found = correct_sentence(sentence, rules)
        if found is None or any(c["original"] == found.original for c in corrections):
            continue
        corrections.append(
            {
                "original": found.original,
                "corrected": found.corrected,
                "explanation": _explained(found, explained),
                "category": found.category,
            }
        )
        for label, suggestion in zip(found.labels, found.suggestions, strict=True):
            if label not in patterns:
                patterns.append(label)
                suggestions.append(suggestion)
    if language == "en" and not LINKERS.search(" ".join(sentences)):
        suggestions.append("Join your ideas with linking words such as 'because', 'although' and 'however'.")
    if sentences and len(words) / len(sentences) < 8:
        suggestions.append("Give longer answers: add a reason or an example to each one.")
    if not suggestions:
        suggestions.append("Keep going: try a new topic next time to stretch your vocabulary.")
    new_words: list[str] = []
    for word in words:
        lower = word.lower()
        if len(lower) >= 8 and lower.isalpha() and lower not in COMMON_LONG and lower not in new_words:
            new_words.append(lower)
    level = estimate_level(words, len(sentences), len(corrections))
    focus = f" The main thing to work on: {patterns[0][0].lower()}{patterns[0][1:]}." if patterns else ""
    summary = (
        f"You spoke {len(words)} words in this conversation, at about level {level}.{focus}"
        if corrections
        else f"You spoke {len(words)} words with hardly any mistakes, at about level {level}. Well done!"
    )
    if explained != "en":
        from fluentio.simulator.foreign_rules import SUMMARY_TEMPLATES

        summary = SUMMARY_TEMPLATES.get(explained, summary).format(words=len(words), level=level)
    return {
        "corrections": corrections[:15],
        "badPatterns": patterns[:5],
        "suggestions": suggestions[:5],
        "estimatedLevel": level,
        "newWords": new_words[:10],
        "summary": summary,
    }


# ---------------------------------------------------------------------------------------
# Strict JSON schema, as OpenAI's structured outputs enforce it (the subset used here).
# ---------------------------------------------------------------------------------------


class SchemaError(ValueError):
    pass


def check_strict(schema: Any, path: str = "") -> None:
    """Refuse a schema OpenAI's strict mode would refuse (closed objects, all required)."""
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            properties = schema.get("properties", {})
            if schema.get("additionalProperties") is not False:
                raise SchemaError(
                    f"In context=({path or 'root'}), 'additionalProperties' is required to be supplied and to be false."
                )
            missing = [key for key in properties if key not in schema.get("required", [])]
            if missing:
                raise SchemaError(
                    f"In context=({path or 'root'}), 'required' is required to be supplied and to be an "
                    f"array including every key in properties. Missing '{missing[0]}'."
                )
        for key, value in schema.items():
            check_strict(value, f"{path}.{key}" if path else key)
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            check_strict(value, f"{path}[{index}]")


def validate(value: Any, schema: dict[str, Any]) -> None:
    """Check `value` against a JSON schema (jsonschema's Draft 2020-12 validator)."""
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    if error is not None:
        raise SchemaError(f"{error.json_path}: {error.message}")


# ---------------------------------------------------------------------------------------
# The HTTP endpoint.
# ---------------------------------------------------------------------------------------


def error(status: int, message: str, *, code: str | None = None, param: str | None = None) -> JSONResponse:
    return JSONResponse(openai_error(message, code=code, param=param), status_code=status)


def input_text(value: Any) -> str:
    """All text of the request's `input` (a string, or messages with string or part content)."""
    if isinstance(value, str):
        return value
    texts: list[str] = []
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, dict) or item.get("role") == "system":
            continue
        content = item.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts += [p.get("text", "") for p in content if isinstance(p, dict)]
    return "\n".join(texts)


def _ids(seed: str) -> tuple[str, str]:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"resp_sim{digest[:40]}", f"msg_sim{digest[40:64]}"


def response_object(body: dict[str, Any], output_text: str) -> dict[str, Any]:
    """A completed Responses API object whose one message says `output_text`."""
    response_id, message_id = _ids(json.dumps(body, sort_keys=True) + output_text)
    input_tokens = max(1, len(json.dumps(body.get("input", ""))) // 4)
    output_tokens = max(1, len(output_text) // 4)
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body.get("model", ""),
        "output": [
            {
                "id": message_id,
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": output_text, "annotations": [], "logprobs": []}],
            }
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": 1.0,
        "text": {"format": (body.get("text") or {}).get("format") or {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
        "metadata": body.get("metadata") or {},
    }


def answer_request(body: Any) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON the simulator answers a `POST /v1/responses` body with."""
    if not isinstance(body, dict) or not body.get("model"):
        return 400, openai_error("Missing required parameter: 'model'.", param="model")
    if body.get("stream"):
        return 400, openai_error("The local simulator does not stream responses.", param="stream")
    fmt = (body.get("text") or {}).get("format") or {"type": "text"}
    answer = _answer_for(fmt, input_text(body.get("input")))
    if fmt.get("type") != "json_schema":
        return 200, response_object(body, answer["summary"])
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        return 400, openai_error(
            "Missing required parameter: 'text.format.schema'.", param="text.format.schema"
        )
    try:
        if fmt.get("strict"):
            check_strict(schema)
    except SchemaError as exc:
        message = f"Invalid schema for response_format '{fmt.get('name', '')}': {exc}"
        return 400, openai_error(message, param="text.format.schema", code="invalid_json_schema")
    try:
        validate(answer, schema)
    except SchemaError as exc:
        message = f"The local simulator cannot produce an answer for this schema ({exc})."
        return 400, openai_error(message, param="text.format.schema")
    return 200, response_object(body, json.dumps(answer))


def _answer_for(fmt: dict[str, Any], transcript: str) -> dict[str, Any]:
    """The placement answer for a placement schema, else the lesson feedback."""
    from fluentio.simulator.placement import is_placement_schema, placement_answer

    schema = fmt.get("schema")
    if fmt.get("type") == "json_schema" and isinstance(schema, dict) and is_placement_schema(schema):
        return placement_answer(transcript)
    return analyse_transcript(transcript)


async def create_response(request: Request) -> JSONResponse:
    if (denied := server_key_error(request)) is not None:
        return denied
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error(400, "We could not parse the JSON body of your request.")
    status, payload = answer_request(body)
    return JSONResponse(payload, status_code=status)


routes: list[BaseRoute] = [Route("/v1/responses", create_response, methods=["POST"])]
