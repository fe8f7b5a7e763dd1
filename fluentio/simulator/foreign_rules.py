"""The feedback simulator's rules for the other languages, and its words for learners
who read their explanations in a language other than English.

Each language has a few rules: enough for the typical mistakes of its scripted learner
(script.py, LEARNER_LINES_BY_LANGUAGE) and their near relatives. A rule's explanation,
label and suggestion are written in English; for a learner who reads another language
the explanation and the summary come from the templates below (in that language), while
patterns and suggestions stay in English. A real model writes all of it in the learner's
language; this stand-in only has to be offline, deterministic and honest about it.
"""

from __future__ import annotations

import re

from fluentio.simulator.responses import Rule, _rule

_ES_PAST = {"va": "fui", "voy": "fui", "compro": "compré", "como": "comí", "veo": "vi", "hablo": "hablé"}
_ES_HABIT = {"leyendo": "leo", "trabajando": "trabajo", "comiendo": "como", "viendo": "veo"}
_IT_PAST = {"vado": "sono andato", "compro": "ho comprato", "mangio": "ho mangiato", "vedo": "ho visto"}
_IT_PLURAL = {"mela": "mele", "libro": "libri", "amico": "amici", "casa": "case"}
_IT_HABIT = {"leggendo": "leggo", "lavorando": "lavoro", "mangiando": "mangio"}
_PT_PAST = {"vou": "fui", "compro": "comprei", "como": "comi", "vejo": "vi", "falo": "falei"}
_PT_HABIT = {"lendo": "leio", "trabalhando": "trabalho", "comendo": "como"}
_DE_PLURAL = {"Apfel": "Äpfel", "Buch": "Bücher", "Freund": "Freunde", "Film": "Filme"}


def _words(mapping: dict[str, str]) -> str:
    return "|".join(mapping)


RULES_BY_LANGUAGE: dict[str, tuple[Rule, ...]] = {
    "es": (
        _rule(
            r"\b(?:yo )?(" + _words(_ES_PAST) + r")\b",
            lambda m: _ES_PAST[m.group(1).lower()],
            "grammar",
            "Preterite for finished events (ayer fui, compré)",
            "'Ayer' (yesterday) is a finished time, so the verbs take the preterite: fui, compré.",
            "Tell what you did yesterday with preterite verbs: fui, compré, comí.",
            when=re.compile(r"\bayer\b", re.I),
        ),
        _rule(
            r"\b(dos|tres|cuatro|cinco) (manzana|libro|amigo|película)\b",
            r"\1 \2s",
            "grammar",
            "Plural nouns after numbers (dos manzanas)",
            "After a number above one the noun is plural: dos manzanas.",
            "Count things around you aloud: dos sillas, tres libros.",
        ),
        _rule(
            r"\b(encontré|vi|conocí|llamé) (mi|tu|su) (amig[oa]|herman[oa]|madre|padre)\b",
            r"\1 a \2 \3",
            "grammar",
            "Personal 'a' before people (encontré a mi amigo)",
            "When the object of the verb is a person, Spanish puts 'a' before it: encontré a mi amigo.",
            "Say whom you saw this week: vi a mi hermana, llamé a mi madre.",
        ),
        _rule(
            r"\bnosotros hablaba\b",
            "hablábamos",
            "grammar",
            "Verb endings agree with the subject (nosotros hablábamos)",
            "With 'nosotros' the imperfect ends in -ábamos: hablábamos.",
            "Describe what you and your friends used to do: jugábamos, hablábamos.",
        ),
        _rule(
            r"\ba la espacio\b",
            "al espacio",
            "vocabulary",
            "Gender: el espacio, so a + el = al",
            "'Espacio' is masculine, and 'a' + 'el' becomes 'al': viajar al espacio.",
            "Practise a + el = al: voy al cine, viajo al espacio.",
        ),
        _rule(
            r"\b(?:yo )?estoy (" + _words(_ES_HABIT) + r")\b",
            lambda m: _ES_HABIT[m.group(1).lower()],
            "grammar",
            "Simple present for habits (normalmente leo)",
            "For habits use the simple present, not 'estar' + -ndo: normalmente leo.",
            "Describe your usual week with normalmente, a menudo and a veces.",
            when=re.compile(r"\b(normalmente|siempre|a menudo|los fines de semana)\b", re.I),
        ),
    ),
    "fr": (
        _rule(
            r"\bje vais\b",
            "je suis allé",
            "grammar",
            "Passé composé for finished events (hier je suis allé)",
            "'Hier' is a finished time, so use the passé composé: je suis allé, j'ai acheté.",
            "Tell your day yesterday in the passé composé.",
            when=re.compile(r"\bhier\b", re.I),
        ),
        _rule(
            r"\bj'achète\b",
            "j'ai acheté",
            "grammar",
            "Passé composé for finished events (hier je suis allé)",
            "'Hier' is a finished time, so use the passé composé: je suis allé, j'ai acheté.",
            "Tell your day yesterday in the passé composé.",
            when=re.compile(r"\bhier\b", re.I),
        ),
        _rule(
            r"\b(deux|trois|quatre) (pomme|livre|ami|film)\b",
            r"\1 \2s",
            "grammar",
            "Plural nouns after numbers (deux pommes)",
            "After a number above one the noun is plural: deux pommes.",
            "Count things around you aloud: deux chaises, trois livres.",
        ),
        _rule(
            r"\bje suis rencontré\b",
            "j'ai rencontré",
            "grammar",
            "Avoir with most verbs in the passé composé (j'ai rencontré)",
            "'Rencontrer' takes 'avoir' in the passé composé: j'ai rencontré.",
            "Say whom you met this week with j'ai rencontré, j'ai vu.",
        ),
        _rule(
            r"\bde un\b",
            "d'un",
            "grammar",
            "Elision: d'un, l'espace",
            "Before a vowel, 'de' becomes d': parler d'un film.",
            "Practise elision aloud: d'un ami, l'école, j'aime.",
        ),
        _rule(
            r"\bla espace\b",
            "l'espace",
            "grammar",
            "Elision: d'un, l'espace",
            "Before a vowel, 'la' and 'le' become l': dans l'espace.",
            "Practise elision aloud: d'un ami, l'école, j'aime.",
        ),
        _rule(
            r"\bbeaucoup des\b",
            "beaucoup de",
            "vocabulary",
            "Beaucoup de + noun (beaucoup de livres)",
            "After 'beaucoup' use 'de', never 'des': beaucoup de livres.",
            "Say what you have a lot of: beaucoup de livres, beaucoup d'amis.",
        ),
    ),
    "de": (
        _rule(
            r"\b(Gestern|Danach|Dann|Heute|Am Wochenende) ich (bin|habe|lese|gehe|war|hatte|spiele)\b",
            r"\1 \2 ich",
            "grammar",
            "Verb second: Gestern bin ich …",
            "In a German main clause the verb comes second: after 'Gestern' comes the verb, then 'ich'.",
            "Start five sentences with a time word: Heute gehe ich …, Morgen habe ich …",
        ),
        _rule(
            r"\b(zwei|drei|vier|viele) (" + _words(_DE_PLURAL) + r")\b",
            lambda m: f"{m.group(1)} {_DE_PLURAL[m.group(2)]}",
            "grammar",
            "Plural forms (zwei Äpfel)",
            "After a number above one the noun is plural, and many German plurals change: zwei Äpfel.",
            "Learn nouns with their plural: der Apfel, die Äpfel; das Buch, die Bücher.",
        ),
        _rule(
            r"\bwir hat\b",
            "wir haben",
            "grammar",
            "Verb endings agree with the subject (wir haben)",
            "With 'wir' the verb is 'haben': wir haben gesprochen.",
            "Conjugate haben and sein aloud: ich habe, du hast, wir haben.",
        ),
        _rule(
            r"\bin der Weltraum\b",
            "in den Weltraum",
            "grammar",
            "Accusative after 'in' for a direction (in den Weltraum)",
            "'In' with a movement towards a place takes the accusative: in den Weltraum reisen.",
            "Say where you go: in den Park, in die Stadt, ins Kino.",
        ),
    ),
    "it": (
        _rule(
            r"\b(?:io )?(" + _words(_IT_PAST) + r")\b",
            lambda m: _IT_PAST[m.group(1).lower()],
            "grammar",
            "Passato prossimo for finished events (ieri sono andato)",
            "'Ieri' is a finished time, so use the passato prossimo: sono andato, ho comprato.",
            "Tell your day yesterday in the passato prossimo.",
            when=re.compile(r"\bieri\b", re.I),
        ),
        _rule(
            r"\b(due|tre|quattro) (" + _words(_IT_PLURAL) + r")\b",
            lambda m: f"{m.group(1)} {_IT_PLURAL[m.group(2).lower()]}",
            "grammar",
            "Plural nouns after numbers (due mele)",
            "After a number above one the noun is plural: due mele.",
            "Count things around you aloud: due sedie, tre libri.",
        ),
        _rule(
            r"\binteressanto\b",
            "interessante",
            "vocabulary",
            "Adjectives in -e (interessante)",
            "'Interessante' ends in -e for masculine and feminine alike.",
            "Practise adjectives in -e: interessante, grande, importante.",
        ),
        _rule(
            r"\bnel spazio\b",
            "nello spazio",
            "grammar",
            "Articles before s + consonant (nello spazio)",
            "Before s + consonant the article is 'lo', so 'in' + 'lo' = nello: nello spazio.",
            "Practise lo/gli: lo studente, nello zaino, gli spazi.",
        ),
        _rule(
            r"\b(?:io )?sto (" + _words(_IT_HABIT) + r")\b",
            lambda m: _IT_HABIT[m.group(1).lower()],
            "grammar",
            "Present for habits (di solito leggo)",
            "For habits use the simple present, not 'stare' + gerund: di solito leggo.",
            "Describe your usual week with di solito, spesso and a volte.",
            when=re.compile(r"\b(di solito|sempre|spesso|nel fine settimana)\b", re.I),
        ),
    ),
    "pt": (
        _rule(
            r"\b(" + _words(_PT_PAST) + r")\b",
            lambda m: _PT_PAST[m.group(1).lower()],
            "grammar",
            "Pretérito perfeito for finished events (ontem eu fui, comprei)",
            "'Ontem' is a finished time, so use the pretérito perfeito: fui, comprei.",
            "Tell your day yesterday with fui, comprei, comi.",
            when=re.compile(r"\bontem\b", re.I),
        ),
        _rule(
            r"\b(duas|três) (maçã|casa|amiga)\b",
            r"\1 \2s",
            "grammar",
            "Plural nouns after numbers (duas maçãs)",
            "After a number above one the noun is plural: duas maçãs.",
            "Count things around you aloud: duas cadeiras, três livros.",
        ),
        _rule(
            r"\bnós falou\b",
            "nós falamos",
            "grammar",
            "Verb endings agree with the subject (nós falamos)",
            "With 'nós' the verb ends in -amos: nós falamos.",
            "Conjugate a verb aloud with every person: eu falo, você fala, nós falamos.",
        ),
        _rule(
            r"\bpara a espaço\b",
            "para o espaço",
            "vocabulary",
            "Gender: o espaço",
            "'Espaço' is masculine: para o espaço.",
            "Learn nouns with their article: o espaço, a casa, o livro.",
        ),
        _rule(
            r"\b(?:eu )?estou (" + _words(_PT_HABIT) + r")\b",
            lambda m: "eu " + _PT_HABIT[m.group(1).lower()],
            "grammar",
            "Simple present for habits (normalmente eu leio)",
            "For habits use the simple present, not 'estar' + -ndo: normalmente eu leio.",
            "Describe your usual week with normalmente, sempre and às vezes.",
            when=re.compile(r"\b(normalmente|sempre|nos fins de semana)\b", re.I),
        ),
    ),
}

# An explanation in the learner's language, when it is not English.
EXPLANATION_TEMPLATES: dict[str, str] = {
    "es": "Mejor di: «{corrected}».",
    "fr": "Dis plutôt : « {corrected} ».",
    "de": "Sag besser: „{corrected}“.",
    "it": "È meglio dire: «{corrected}».",
    "pt": "É melhor dizer: «{corrected}».",
}

# The summary in the learner's language, when it is not English.
SUMMARY_TEMPLATES: dict[str, str] = {
    "es": "Has dicho {words} palabras en esta conversación, con un nivel de {level} aproximadamente. ¡Sigue así!",
    "fr": "Tu as dit {words} mots dans cette conversation, environ au niveau {level}. Continue comme ça !",
    "de": "Du hast in diesem Gespräch {words} Wörter gesagt, etwa auf Niveau {level}. Weiter so!",
    "it": "Hai detto {words} parole in questa conversazione, più o meno al livello {level}. Continua così!",
    "pt": "Você disse {words} palavras nesta conversa, mais ou menos no nível {level}. Continue assim!",
}
