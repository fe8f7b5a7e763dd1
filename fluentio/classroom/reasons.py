"""Why a lesson ended, and what the learner reads about it: one home for each code.

`EndReason` is stored in `practice_sessions.end_reason`; `BrowserProblem` names what the
browser component can report going wrong on its side (the server's own refusals are
`errors.RefusalCode`, with their words in `errors.py`). Every sentence a learner reads
about a code is written here once and looked up by code.
"""

from __future__ import annotations

from enum import StrEnum


class EndReason(StrEnum):
    """Why a call's session was finalised (at most 32 characters: the column's size)."""

    ENDED_BY_LEARNER = "ended_by_learner"
    OUT_OF_CREDITS = "out_of_credits"
    TIME_LIMIT = "time_limit"
    PEER_LEFT = "peer_left"
    NETWORK_LOST = "network_lost"
    CONNECT_FAILED = "connect_failed"
    NEVER_CONNECTED = "never_connected"
    SERVER_SHUTDOWN = "server_shutdown"
    SERVER_RESTART = "server_restart"
    ENDED_ELSEWHERE = "ended_elsewhere"
    ACCOUNT_DELETED = "account_deleted"
    # The browser gave up before the call connected (see `BrowserProblem`).
    ABANDONED = "abandoned"
    # The provider refused to start the call (the refusal's own code).
    PROVIDER_ERROR = "provider_error"
    PROVIDER_TIMEOUT = "provider_timeout"
    PROVIDER_BUSY = "provider_busy"
    PROVIDER_UNREACHABLE = "provider_unreachable"

    @classmethod
    def parse(cls, value: object, default: EndReason) -> EndReason:
        """A reason sent by a browser: one of ours, else `default` (never a free string)."""
        try:
            return cls(str(value))
        except ValueError:
            return default


class BrowserProblem(StrEnum):
    """What the browser component reports going wrong on its side."""

    MIC_DENIED = "mic_denied"
    NO_MIC = "no_mic"
    MIC_ERROR = "mic_error"
    NETWORK = "network"
    NETWORK_LOST = "network_lost"
    UNSUPPORTED_BROWSER = "unsupported_browser"
    INSECURE_CONTEXT = "insecure_context"
    CALL_FAILED = "call_failed"
    PROVIDER = "provider"
    RATE_LIMITED = "rate_limited"


_CONNECTION_LOST = "The connection to the tutor was lost, so the lesson ended."
_SERVER_RESTARTED = "The lesson ended because our server restarted."
NO_CHARGE = "no credits were used"

# How a lesson that connected ended (the outcome line above its cost).
ENDED_MESSAGES: dict[EndReason, str] = {
    EndReason.ENDED_BY_LEARNER: "Lesson ended.",
    # The page links to the credit packs under it: no raw path in the words.
    EndReason.OUT_OF_CREDITS: "Your credits ran out, so the lesson ended. Buy a credit pack to keep practising.",
    EndReason.TIME_LIMIT: "Lessons last at most {max_minutes} minutes, so this one ended. "
    "Start another whenever you like.",
    EndReason.PEER_LEFT: _CONNECTION_LOST,
    EndReason.NETWORK_LOST: _CONNECTION_LOST,
    EndReason.SERVER_SHUTDOWN: _SERVER_RESTARTED,
    EndReason.SERVER_RESTART: _SERVER_RESTARTED,
}

# The placement call's own time limit (classroom/scenarios.py: PLACEMENT_SCENARIO).
PLACEMENT_TIME_UP = "The placement call lasts {max_minutes} minutes, so it ended. Your level will appear in History in a moment."

# A start the provider refused (the session ends as failed, free).
PROVIDER_MESSAGES: dict[EndReason, str] = {
    EndReason.PROVIDER_TIMEOUT: f"The tutor service did not answer in time. Try again in a minute; {NO_CHARGE}.",
    EndReason.PROVIDER_BUSY: f"The tutor service is busy right now. Try again in a minute; {NO_CHARGE}.",
    EndReason.PROVIDER_UNREACHABLE: (
        f"The tutor service is unreachable right now. Try again in a minute; {NO_CHARGE}."
    ),
    EndReason.PROVIDER_ERROR: f"The tutor service could not start the call. Try again in a minute; {NO_CHARGE}.",
}

NOT_STARTED_MESSAGE = "The lesson did not start, so no credits were used. Try again when you are ready."

# What the learner reads for a problem on the browser's side, and the next step.
# (`mic_denied` has per-platform steps: components/platform_help.py.)
BROWSER_MESSAGES: dict[BrowserProblem, str] = {
    BrowserProblem.NO_MIC: "No microphone was found. Connect one (or choose one in your system settings), "
    "then press Start session again.",
    BrowserProblem.MIC_ERROR: "Your microphone could not be opened; another app may be using it. Close that "
    "app, then try again.",
    BrowserProblem.NETWORK: "Fluentio could not reach the tutor. Check your internet connection, then press "
    "Start session again.",
    BrowserProblem.NETWORK_LOST: (
        "The connection to the tutor was lost. Your lesson so far is saved and you only pay "
        "for the time you talked. Check your connection, then press Start session to continue."
    ),
    BrowserProblem.UNSUPPORTED_BROWSER: (
        "Your browser can't make live calls. Use a recent Safari, Chrome, Edge or Firefox. "
        "Your microphone was not used and no credits were used."
    ),
    BrowserProblem.INSECURE_CONTEXT: (
        "Live calls need a secure connection. Open Fluentio at its https:// address, then press "
        "Start session again."
    ),
    BrowserProblem.CALL_FAILED: (
        "Your browser could not set up the call, so it was stopped and your microphone turned off. "
        "No credits were used. Reload the page and try again, or use a recent Safari, Chrome, Edge or Firefox."
    ),
    BrowserProblem.RATE_LIMITED: PROVIDER_MESSAGES[EndReason.PROVIDER_BUSY],
    BrowserProblem.PROVIDER: "The tutor service had a problem starting your lesson. Try again in a minute. "
    "No credits were used.",
}
