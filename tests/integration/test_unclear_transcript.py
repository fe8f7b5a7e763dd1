"""The lesson page's transcript marks the words the recogniser was unsure of inside the
learner's own line, also inside a marked mistake, and only for the lesson's owner."""

from __future__ import annotations

from sqlmodel import Session, select

from fluentio.feedback import history
from fluentio.models import Correction, Feedback, FeedbackStatus, TranscriptItem
from fluentio.models.base import utcnow
from fluentio.simulator.script import LEARNER_LINES, transcript_logprobs
from fluentio.vocabulary.unclear import record_unclear_words
from tests.support.factories import make_user
from tests.support.feedback_data import add_practice_session


def test_unclear_words_are_marked_in_the_transcript(pg: Session) -> None:
    user = make_user(pg)
    practice = add_practice_session(pg, user_id=user.id, learner_lines=[LEARNER_LINES[0], LEARNER_LINES[2]])
    items = pg.exec(select(TranscriptItem).where(TranscriptItem.session_id == practice.id)).all()
    for n, item in enumerate(i for i in items if i.speaker == "learner"):
        item.provider_item_id = f"item_{n}"
        record_unclear_words(
            session=pg,
            practice_session_id=practice.id,
            provider_item_id=item.provider_item_id,
            logprobs=transcript_logprobs(item.text),
            now=utcnow(),
        )
    feedback = Feedback(session_id=practice.id, status=FeedbackStatus.DONE.value, cefr_level="A2")
    pg.add(feedback)
    pg.flush()
    pg.add(
        Correction(
            feedback_id=feedback.id,
            position=0,
            original="I go to the market and buy two apple",
            corrected="I went to the market and bought two apples",
            explanation="Past simple.",
        )
    )
    pg.flush()

    detail = history.session_detail(session=pg, user_id=user.id, practice_session_id=practice.id)

    assert detail is not None
    first, second = (line for line in detail.lines if line.learner)
    # "market" sits inside the mistake: the mistake stays one piece, the word is marked within it.
    mistake = next(s for s in first.segments if s.marked)
    assert mistake.text == "I go to the market and buy two apple"
    assert [(p.text, p.unclear, p.label) for p in mistake.parts] == [
        ("I go to the ", False, ""),
        ("market", True, "Unclear — the recogniser was 31% sure"),
        (" and buy two apple", False, ""),
    ]
    # "It is about a man who want to travel in the space.": "travel" outside any mistake.
    marked = [(p.text, p.label) for s in second.segments for p in s.parts if p.unclear]
    assert marked == [("travel", "Unclear — the recogniser was 42% sure")]
    assert "".join(p.text for s in second.segments for p in s.parts) == LEARNER_LINES[2]
    # The tutor's lines are never marked.
    assert not any(
        p.unclear for line in detail.lines if not line.learner for s in line.segments for p in s.parts
    )

    other = make_user(pg)
    assert history.session_detail(session=pg, user_id=other.id, practice_session_id=practice.id) is None
