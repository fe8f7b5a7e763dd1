"""Why a call could not start (or be changed): a code, the learner's words, an HTTP status.

Each refusal's sentence is written once, here; the page and the HTTP routes show it as
the server words it.
"""

from __future__ import annotations

from enum import StrEnum

from fluentio.classroom.reasons import PROVIDER_MESSAGES, EndReason


class RefusalCode(StrEnum):
    NOT_SIGNED_IN = "not_signed_in"
    FORBIDDEN = "forbidden"
    NO_CREDITS = "no_credits"
    NOT_FOUND = "not_found"
    ALREADY_IN_CALL = "already_in_call"
    CALL_ID_USED = "call_id_used"
    NOT_STARTABLE = "not_startable"
    TOO_MANY_STARTS = "too_many_starts"
    BAD_REQUEST = "bad_request"
    BAD_SDP = "bad_sdp"
    SDP_TOO_LARGE = "sdp_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    PROVIDER_BUSY = EndReason.PROVIDER_BUSY.value
    PROVIDER_UNREACHABLE = EndReason.PROVIDER_UNREACHABLE.value
    PROVIDER_ERROR = EndReason.PROVIDER_ERROR.value
    PROVIDER_TIMEOUT = EndReason.PROVIDER_TIMEOUT.value


class CallRefused(Exception):
    """A refusal with a machine code, a plain-language message and the HTTP status."""

    def __init__(self, code: RefusalCode, message: str, http_status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status

    def as_json(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code.value, "message": self.message}}

    def __repr__(self) -> str:
        return f"CallRefused({self.code.value!r}, {self.message!r}, {self.http_status})"


def not_signed_in() -> CallRefused:
    return CallRefused(RefusalCode.NOT_SIGNED_IN, "Please log in to start a lesson.", 401)


# Pages show a "See credit packs" link under it; no raw paths in the words.
NO_CREDITS_MESSAGE = "You're out of credits, so a lesson can't start. Buy a credit pack to keep practising."


def no_credits() -> CallRefused:
    return CallRefused(RefusalCode.NO_CREDITS, NO_CREDITS_MESSAGE, 402)


def already_in_call() -> CallRefused:
    return CallRefused(
        RefusalCode.ALREADY_IN_CALL,
        "You already have a lesson running (maybe in another tab). End it there, or wait a "
        "few seconds and try again.",
        409,
    )


def session_not_found() -> CallRefused:
    return CallRefused(
        RefusalCode.NOT_FOUND, "That lesson was not found. Start a new one from the classroom.", 404
    )


def bad_request(message: str) -> CallRefused:
    return CallRefused(RefusalCode.BAD_REQUEST, message, 400)


def too_many_starts(limit: int, minutes: int) -> CallRefused:
    return CallRefused(
        RefusalCode.TOO_MANY_STARTS,
        f"You have started {limit} lessons in the last hour, the most we allow. "
        f"Take a short break and start again in about {minutes} minute{'s' if minutes != 1 else ''}.",
        429,
    )


_PROVIDER_STATUS = {
    RefusalCode.PROVIDER_TIMEOUT: 504,
    RefusalCode.PROVIDER_UNREACHABLE: 503,
    RefusalCode.PROVIDER_BUSY: 503,
    RefusalCode.PROVIDER_ERROR: 502,
}


def provider_refused(code: RefusalCode) -> CallRefused:
    """The provider could not start the call; nothing was charged."""
    return CallRefused(code, PROVIDER_MESSAGES[EndReason(code.value)], _PROVIDER_STATUS[code])
