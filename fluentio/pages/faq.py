"""The FAQ page: credits, calls, privacy and accounts, as native <details> so every answer
is in the prerendered HTML (for crawlers and for people without JavaScript)."""

import reflex as rx

from fluentio.components.calls_to_action import closing_cta
from fluentio.components.layout import (
    ACCENT,
    free_credits,
    page,
    page_intro,
    section,
    shell,
)

TITLE = "FAQ · Fluentio — credits, privacy, levels and your live English tutor"
DESCRIPTION = (
    "Answers about Fluentio: how credits and minutes work, interrupting the tutor, what happens "
    "to your voice and transcripts, microphones, levels A1–C2, installing on your phone, refunds "
    "and deleting your account."
)


def faq_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The questions, grouped; built when the page is built so the free credits follow the setting."""
    credits = free_credits()
    return [
        (
            "Credits and payment",
            [
                (
                    "How do credits work?",
                    f"1 credit = 1 minute of live conversation. Every new account gets {credits} free "
                    "credits, once. When you need more, buy a pack on the Pricing page. There is no "
                    "subscription, nothing renews, and credits never expire.",
                ),
                (
                    "What counts as a minute?",
                    "Only the time a call is connected, counted by the second: a 4½-minute call uses "
                    "4.5 credits. Choosing a topic, reading your feedback and playing “Hear it” "
                    "sentences cost nothing. If your credits run out during a call, the tutor tells "
                    "you and the call ends — you are never charged more than you have.",
                ),
                (
                    "Can I get a refund?",
                    "Yes. If you bought a pack by mistake and have not used it, or a call failed "
                    "because of a problem on our side, contact us within 14 days and we will refund "
                    "the unused credits or give the lost minutes back.",
                ),
            ],
        ),
        (
            "Talking with the tutor",
            [
                (
                    "Can I interrupt the tutor?",
                    "Anytime — that is the point. Start speaking and the tutor stops mid-sentence and "
                    "listens, just like a person on a phone call. There is no button to hold and no "
                    "turn to wait for.",
                ),
                (
                    "What do I need? Does it work with my microphone?",
                    "A recent browser (Chrome, Edge, Safari or Firefox) and any microphone: the one in "
                    "your phone or laptop is fine. Your browser asks for permission the first time. "
                    "Headphones help in noisy places so the tutor hears only you.",
                ),
                (
                    "Which levels do you support?",
                    "All of them, from A1 (beginner) to C2 (proficient). Pick your level before a call "
                    "and the tutor adjusts its vocabulary, speed and sentence length. Your feedback "
                    "also estimates your level over time.",
                ),
                (
                    "What do I get after a call?",
                    "Structured feedback: each mistake with the corrected sentence and a short "
                    "explanation, the patterns you repeat, and suggestions for your next call. Tap "
                    "“Hear it” to listen to any corrected sentence, and follow your progress "
                    "in charts week by week.",
                ),
            ],
        ),
        (
            "Privacy",
            [
                (
                    "Where does my voice go? What do you store?",
                    "Your audio goes from your browser directly to the AI (OpenAI's Realtime API) "
                    "over an encrypted connection, like a video call — it never passes through our servers, and "
                    "we do not record it. We store the text transcript of each call and the feedback "
                    "made from it, so you can review them later, plus the minutes you used.",
                ),
                (
                    "Can I take my data with me?",
                    "Yes. On your Account page choose “Download my data”: one file with your profile, "
                    "every session with its transcript and feedback, your credit history and payments.",
                ),
                (
                    "Can I delete my account?",
                    "Yes. On your Account page choose “Delete account”. Your transcripts, "
                    "feedback and personal details are deleted; we keep only the payment records the "
                    "law requires us to keep.",
                ),
            ],
        ),
        (
            "On your phone",
            [
                (
                    "Can I install Fluentio on my phone?",
                    "Yes, without an app store. On iPhone, open Fluentio in Safari, tap Share, then "
                    "“Add to Home Screen”. On Android, open it in Chrome and tap “Install app” "
                    "(or ⋮ → “Add to Home screen”). It then opens full screen like any other app.",
                ),
            ],
        ),
    ]


def question(title: str, answer: str) -> rx.Component:
    return rx.el.details(
        rx.el.summary(
            rx.text(title, as_="span", weight="bold", size="4"),
            cursor="pointer",
            padding="1rem 0",
            color="var(--gray-12)",
        ),
        rx.text(answer, color="var(--gray-11)", size="3", padding_bottom="1.25rem", max_width="46rem"),
        border_bottom="1px solid var(--gray-a5)",
    )


def group(title: str, items: list[tuple[str, str]]) -> rx.Component:
    return section(
        rx.heading(title, as_="h2", size="6"),
        rx.box(*[question(q, a) for q, a in items], width="100%", border_top="1px solid var(--gray-a5)"),
    )


@page(route="/faq", title=TITLE, description=DESCRIPTION)
def faq() -> rx.Component:
    return shell(
        page_intro(
            "FAQ",
            "Questions, answered",
            "Everything people ask before their first call: minutes and credits, interrupting the "
            "tutor, what happens to your voice, and using Fluentio on your phone.",
        ),
        *[group(title, items) for title, items in faq_groups()],
        section(
            rx.text(
                "Still wondering? ",
                rx.link("See pricing", href="/pricing", color=f"var(--{ACCENT}-11)", underline="always"),
                " or ",
                rx.link(
                    "read why we built Fluentio",
                    href="/about",
                    color=f"var(--{ACCENT}-11)",
                    underline="always",
                ),
                ".",
                color="var(--gray-11)",
                size="3",
            ),
        ),
        closing_cta(),
    )
