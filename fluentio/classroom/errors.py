"""Why a call could not start (or be changed), in words for the learner."""

from __future__ import annotations

# Pages show a "See credit packs" link under these messages; no raw paths in the words.
NO_CREDITS_MESSAGE = "You have no credits left. Buy a credit pack to keep practising."


class CallRefused(Exception):
    """A refusal with a machine code, a plain-language message and the HTTP status.

    Codes: not_signed_in (401), no_credits (402), not_found (404), already_in_call (409),
    call_id_used (409), not_startable (409), too_many_starts (429), bad_request (400), bad_sdp (400),
    sdp_too_large (413), unsupported_media_type (415), provider_busy (503),
    provider_unreachable (503), provider_error (502), provider_timeout (504).
    """

    def __init__(self, code: str, message: str, http_status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status

    def as_json(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}

    def __repr__(self) -> str:
        return f"CallRefused({self.code!r}, {self.message!r}, {self.http_status})"


def not_signed_in() -> CallRefused:
    return CallRefused("not_signed_in", "Please log in to start a lesson.", 401)


def no_credits() -> CallRefused:
    return CallRefused("no_credits", NO_CREDITS_MESSAGE, 402)


def already_in_call() -> CallRefused:
    return CallRefused(
        "already_in_call",
        "You already have a lesson running (maybe in another tab). End it there, or wait a "
        "few seconds and try again.",
        409,
    )


def session_not_found() -> CallRefused:
    return CallRefused("not_found", "That lesson was not found. Start a new one from the classroom.", 404)


def too_many_starts(limit: int, minutes: int) -> CallRefused:
    return CallRefused(
        "too_many_starts",
        f"You have started {limit} lessons in the last hour, the most we allow. "
        f"Take a short break and start again in about {minutes} minute{'s' if minutes != 1 else ''}.",
        429,
    )
