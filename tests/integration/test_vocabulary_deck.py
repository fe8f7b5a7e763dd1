"""The vocabulary deck (fluentio/vocabulary/): items enter from a lesson's feedback and
from unclear words, feedback reviews what the learner said with FSRS's own algorithm
(times injected), and due items reach the next lesson's instructions. On both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fsrs import Card, Rating, Scheduler
from sqlmodel import Session, select

from fluentio.feedback.fluency import Line
from fluentio.feedback.schema import FeedbackAnswer
from fluentio.goals.service import end_of_today, save_goal
from fluentio.models import DeckItem, DeckSource, TranscriptItem, UnclearWord
from fluentio.simulator.script import LEARNER_LINES, transcript_logprobs
from fluentio.vocabulary import deck, unclear
from fluentio.vocabulary.lesson import lesson_words
from tests.support.factories import make_user
from tests.support.feedback_data import add_practice_session

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# No fuzzing: the expected schedule is the library's answer for the same review.
EXACT = Scheduler(enable_fuzzing=False)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def answer(*, new_words: list[str], corrections: list[tuple[str, str]]) -> FeedbackAnswer:
    return FeedbackAnswer.model_validate(
        {
            "corrections": [
                {"original": o, "corrected": c, "explanation": "Why.", "category": "grammar"}
                for o, c in corrections
            ],
            "badPatterns": [],
            "suggestions": [],
            "estimatedLevel": "B1",
            "newWords": new_words,
            "summary": "Good.",
        }
    )


def learner(*texts: str) -> list[Line]:
    return [Line(speaker="learner", text=text, started_ms=None, ended_ms=None) for text in texts]


def items(db: Session, user_id: object) -> dict[str, DeckItem]:
    return {row.text: row for row in db.exec(select(DeckItem).where(DeckItem.user_id == user_id))}


def test_items_enter_from_feedback_once(db: Session) -> None:
    user = make_user(db)
    lesson = add_practice_session(db, user_id=user.id, created_at=T0)
    lesson.target_vocabulary = ["deadline", "Budget"]
    feedback = answer(
        new_words=["meticulous", "Deadline"],
        corrections=[
            ("buy two apple", "bought two apples."),
            (
                "I am afraid from the height",
                "I'm afraid of heights, so I would rather stay on the ground today.",
            ),
        ],
    )
    for _ in range(2):  # a re-run analysis adds nothing twice
        deck.record_feedback(
            session=db,
            practice_session_id=lesson.id,
            answer=feedback,
            lines=learner(*LEARNER_LINES[:2]),
            now=T0,
        )
    stored = items(db, user.id)
    # "Deadline" (a new word) and "deadline" (a target word) are one item; the long
    # corrected sentence is not a phrase to learn.
    assert sorted((row.key, row.source) for row in stored.values()) == [
        ("bought two apples", "correction"),
        ("budget", "target_word"),
        ("deadline", "new_word"),
        ("meticulous", "new_word"),
    ]
    assert all(row.due_at == T0 and row.reps == 0 for row in stored.values())


def test_the_feedback_reviews_items_used_with_the_librarys_schedule(db: Session) -> None:
    user = make_user(db)
    deck.add_items(
        session=db,
        user_id=user.id,
        texts=["deadline", "apple", "budget"],
        source=DeckSource.NEW_WORD,
        source_session_id=None,
        now=T0,
    )
    before = {text: Card.from_dict(row.card) for text, row in items(db, user.id).items()}
    later = T0 + timedelta(days=2)
    lesson = add_practice_session(db, user_id=user.id, created_at=later)
    lines = learner("We finished before the deadline, luckily.", "Yesterday I buy two apple.")
    feedback = answer(new_words=[], corrections=[("buy two apple", "bought two apples")])
    reviewed_at = later + timedelta(minutes=10)
    for _ in range(2):  # reviewing again for the same lesson changes nothing
        deck.record_feedback(
            session=db,
            practice_session_id=lesson.id,
            answer=feedback,
            lines=lines,
            now=reviewed_at,
            scheduler=EXACT,
        )
    stored = items(db, user.id)
    good, _ = EXACT.review_card(before["deadline"], Rating.Good, reviewed_at)
    again, _ = EXACT.review_card(before["apple"], Rating.Again, reviewed_at)
    assert stored["deadline"].card == good.to_dict() and stored["deadline"].due_at == good.due
    assert stored["apple"].card == again.to_dict() and stored["apple"].due_at == again.due
    assert stored["deadline"].due_at > stored["apple"].due_at
    assert stored["deadline"].reps == 1 and stored["deadline"].last_review_session_id == lesson.id
    # Not said in the lesson: untouched.
    assert stored["budget"].reps == 0 and stored["budget"].due_at == T0


def test_unclear_words_are_stored_and_enter_the_deck(db: Session) -> None:
    user = make_user(db)
    lesson = add_practice_session(db, user_id=user.id, created_at=T0)
    line = LEARNER_LINES[0]  # "…to the market…": the simulator's recogniser is unsure of "market"
    for _ in range(2):  # the same event twice stores it once
        unclear.record_unclear_words(
            session=db,
            practice_session_id=lesson.id,
            provider_item_id="item_1",
            logprobs=transcript_logprobs(line),
            now=T0,
        )
    rows = db.exec(select(UnclearWord).where(UnclearWord.session_id == lesson.id)).all()
    assert [(r.word, r.position, round(r.confidence, 2)) for r in rows] == [("market", 5, 0.31)]
    assert line.split(" ")[5] == "market"
    assert items(db, user.id)["market"].source == "unclear"
    line_item = db.exec(
        select(TranscriptItem).where(TranscriptItem.session_id == lesson.id, TranscriptItem.text == line)
    ).one()
    line_item.provider_item_id = "item_1"
    db.flush()
    [view] = unclear.session_unclear_words(session=db, user_id=user.id, practice_session_id=lesson.id)
    assert (view.before, view.said, view.after) == ("Yesterday I go to the ", "market", " and buy two apple.")
    assert view.confidence_percent == 31
    assert view.audio_url.startswith(f"/api/speech/words/{items(db, user.id)['market'].id}?k=")
    # Another learner sees nothing of it.
    other = make_user(db)
    assert unclear.session_unclear_words(session=db, user_id=other.id, practice_session_id=lesson.id) == []


def test_due_and_unclear_words_for_the_next_lesson(db: Session) -> None:
    user = make_user(db)
    first = add_practice_session(db, user_id=user.id, created_at=T0)
    unclear.record_unclear_words(
        session=db,
        practice_session_id=first.id,
        provider_item_id="i1",
        logprobs=transcript_logprobs(LEARNER_LINES[2]),
        now=T0,
    )
    deck.add_items(
        session=db,
        user_id=user.id,
        texts=["deadline"],
        source=DeckSource.NEW_WORD,
        source_session_id=first.id,
        now=T0 + timedelta(hours=1),
    )
    deck.add_items(
        session=db,
        user_id=user.id,
        texts=["tomorrow's word"],
        source=DeckSource.NEW_WORD,
        source_session_id=first.id,
        now=T0 + timedelta(days=1),
    )
    carried = lesson_words(session=db, user_id=user.id, now=T0 + timedelta(hours=2))
    # The unclear word is asked for on its own, not twice; the not-yet-due item waits.
    assert carried.unclear == ["travel"]
    assert carried.due == ["deadline"]


def test_the_words_page_groups_due_today_learning_and_known(db: Session) -> None:
    user = make_user(db)
    save_goal(session=db, user_id=user.id, weekly_minutes=60, time_zone="Asia/Tokyo", reminders=False, now=T0)
    now = utc(2026, 3, 2, 10, 0)  # 19:00 in Tokyo; the learner's day ends at 15:00 UTC
    assert end_of_today(session=db, user_id=user.id, now=now) == utc(2026, 3, 2, 15, 0)
    for text, due in (("tonight", utc(2026, 3, 2, 14, 0)), ("tomorrow", utc(2026, 3, 2, 16, 0))):
        deck.add_items(
            session=db,
            user_id=user.id,
            texts=[text],
            source=DeckSource.NEW_WORD,
            source_session_id=None,
            now=due,
        )
    deck.add_items(
        session=db,
        user_id=user.id,
        texts=["known"],
        source=DeckSource.NEW_WORD,
        source_session_id=None,
        now=T0 - timedelta(days=30),
    )
    known = items(db, user.id)["known"]
    for step in range(3):  # Good until the library moves it to the Review state
        deck.review(item=known, rating=Rating.Good, now=T0 - timedelta(days=30 - step * 5), scheduler=EXACT)
    db.add(known)
    db.flush()
    groups = deck.deck_groups(
        session=db, user_id=user.id, now=now, due_by=end_of_today(session=db, user_id=user.id, now=now)
    )
    assert [v.text for v in groups.due] == ["tonight"]
    assert [v.text for v in groups.learning] == ["tomorrow"]
    assert [v.text for v in groups.known] == ["known"]
    assert groups.due[0].due == "in 4 h" and groups.learning[0].due == "in 6 h"
    assert groups.known[0].audio_url.startswith(f"/api/speech/words/{known.id}?k=")
