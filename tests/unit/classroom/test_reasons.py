"""Every end reason fits its column and has words; every browser problem has its message."""

from __future__ import annotations

from fluentio.classroom import calls, errors
from fluentio.classroom.reasons import (
    BROWSER_MESSAGES,
    ENDED_MESSAGES,
    NOT_STARTED_MESSAGE,
    PROVIDER_MESSAGES,
    BrowserProblem,
    EndReason,
)
from fluentio.models import PracticeSession
from fluentio.settings import Settings


def test_every_reason_fits_the_column_untruncated() -> None:
    column = PracticeSession.__table__.c.end_reason  # type: ignore[attr-defined]
    assert all(len(reason.value) <= column.type.length for reason in EndReason)


def test_a_browser_reason_is_one_of_ours_or_the_default() -> None:
    assert EndReason.parse("network_lost", EndReason.ABANDONED) is EndReason.NETWORK_LOST
    assert EndReason.parse("Offer failed!", EndReason.ABANDONED) is EndReason.ABANDONED
    assert EndReason.parse(None, EndReason.ABANDONED) is EndReason.ABANDONED


def test_every_browser_problem_has_a_message() -> None:
    # The microphone's steps depend on the platform (components/platform_help.py).
    assert set(BROWSER_MESSAGES) == set(BrowserProblem) - {BrowserProblem.MIC_DENIED}


def test_provider_refusals_say_nothing_was_charged() -> None:
    for code in (
        errors.RefusalCode.PROVIDER_BUSY,
        errors.RefusalCode.PROVIDER_ERROR,
        errors.RefusalCode.PROVIDER_TIMEOUT,
        errors.RefusalCode.PROVIDER_UNREACHABLE,
    ):
        refused = errors.provider_refused(code)
        assert refused.message == PROVIDER_MESSAGES[EndReason(code.value)]
        assert "no credits were used" in refused.message and refused.http_status >= 500


def ended(reason: EndReason | str, *, status: str = "ended", seconds: int = 65, charged: int = 1_083) -> str:
    row = PracticeSession(
        user_id=PracticeSession.model_fields["id"].default_factory(),  # type: ignore[misc]
        status=status,
        topic="travel",
        level="B1",
        end_reason=str(reason),
        billable_seconds=seconds,
        charged_millicredits=charged,
    )
    return calls.ended_message(row, Settings.model_validate({"FLUENTIO_MAX_SESSION_MINUTES": 20}))


def test_ended_messages_by_reason() -> None:
    assert ended(EndReason.ENDED_BY_LEARNER).startswith("Lesson ended. You talked for 1 min 5 s")
    assert ended(EndReason.TIME_LIMIT).startswith(ENDED_MESSAGES[EndReason.TIME_LIMIT].format(max_minutes=20))
    assert ended(EndReason.OUT_OF_CREDITS).startswith("Your credits ran out")
    assert all("(/" not in ended(reason) for reason in EndReason), "the page links; no raw paths"
    assert "(/" not in errors.NO_CREDITS_MESSAGE
    assert ended(EndReason.NETWORK_LOST).startswith("The connection to the tutor was lost")
    assert ended(EndReason.PEER_LEFT).startswith("The connection to the tutor was lost")
    assert ended(EndReason.PROVIDER_BUSY, status="failed") == PROVIDER_MESSAGES[EndReason.PROVIDER_BUSY]
    assert ended(EndReason.ABANDONED, status="failed") == NOT_STARTED_MESSAGE
    # Rows written before the reasons were an enum still read as plain words.
    assert ended("mic_denied").startswith("Lesson ended.")
