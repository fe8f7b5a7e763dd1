"""The classroom page's state: every decision about a live lesson is made here, on the
server, by calling fluentio.classroom.calls. The browser component only reports.

Each handler resolves the learner from the session cookie (`signed_in_user`); a
practice-session id coming back from the browser is only ever used together with that
user, and the service checks it belongs to them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlencode

import reflex as rx

from fluentio import languages
from fluentio.auth.levels import level_for
from fluentio.auth.state import login_redirect, signed_in_user
from fluentio.billing import ledger
from fluentio.classroom import calls, errors, mic_check
from fluentio.classroom.errors import CallRefused, RefusalCode
from fluentio.classroom.preferences import Preferences, get_preferences, save_preferences
from fluentio.classroom.reasons import BROWSER_MESSAGES, BrowserProblem, EndReason
from fluentio.classroom.scenarios import PLACEMENT_SCENARIO_ID, SCENARIOS
from fluentio.clock import format_duration
from fluentio.components.platform_help import microphone_help
from fluentio.db import off_loop, session_scope
from fluentio.levels import LEVELS
from fluentio.models import SessionStatus
from fluentio.settings import get_settings
from fluentio.vocabulary.unclear import spans_from_logprobs, split_at

log = logging.getLogger(__name__)

MAX_CAPTIONS = 200
POLL_SECONDS = 1.0
# Statuses during which a call is open (or closing) on the server.
LIVE_STATES = ("connecting", "live", "reconnecting", "ending")
# How long to wait for the server to finalise a call the tutor's side closed.
ENDING_POLLS = 10
# Codes the server refuses a start with: their message is the server's own words.
SERVER_CODES = frozenset(code.value for code in RefusalCode)


def _read_preferences(user_id: Any) -> Preferences:
    with session_scope() as session:
        return get_preferences(session=session, user_id=user_id)


def _read_level(user_id: Any, language: str) -> str:
    """The learner's level in the language they practise (the picker starts there)."""
    with session_scope() as session:
        return level_for(session, user_id, language)


# Token log-probabilities read from one caption (the component sends at most 400).
MAX_CAPTION_LOGPROBS = 400


def caption_parts(text: str, logprobs: object) -> list[dict[str, Any]]:
    """A caption's text cut around the words the recogniser was unsure of (the learner's
    finished lines carry their token log-probabilities), by the rule the stored words
    follow (vocabulary/unclear.py)."""
    tokens = (
        [t for t in logprobs[:MAX_CAPTION_LOGPROBS] if isinstance(t, dict)]
        if isinstance(logprobs, list)
        else []
    )
    spans = spans_from_logprobs(text, tokens) if tokens else []
    return [
        {"text": piece, "unclear": span is not None, "label": span.label if span else ""}
        for piece, span in split_at(text, spans)
    ]


def scenario_ids() -> set[str]:
    return {scenario.id for scenario in SCENARIOS}


class ClassroomState(rx.State):
    """Lesson set-up, the live call's status and captions, and what went wrong."""

    # Set-up.
    level: str = "B1"
    # The learner's languages (set on /account), as names: "Spanish", "English".
    language_name: str = "English"
    explanation_name: str = "English"
    topic: str = ""
    vocabulary: str = ""
    simulated: bool = False
    signaling: str = "relay"
    balance_text: str = ""
    has_credits: bool = True

    # The learner's preferences (fluentio/classroom/preferences.py) and microphone check.
    push_to_talk: bool = False
    backchannel: str = "continue"
    audio_setup: str = "speakers"
    mic_checked: bool = True
    checking_mic: bool = False
    mic_verdict: str = ""
    mic_message: str = ""

    # The call.
    status: str = "idle"  # idle, connecting, live, reconnecting, ending, ended
    # For the browser component: "start", "stop", "release" (let go of a microphone the
    # Start click opened when the start was refused) or "check" (microphone check).
    command: str = ""
    command_id: int = 0
    offer_url: str = ""
    calls_url: str = ""
    client_secret: str = ""
    session_id: str = ""
    muted: bool = False
    tutor_speaking: bool = False
    listening: bool = False
    seconds_left: int = -1
    low_balance: bool = False
    captions: list[dict[str, Any]] = []

    # Outcome.
    error: str = ""
    error_code: str = ""
    notice: str = ""
    notice_link: str = ""
    summary: str = ""
    last_session_id: str = ""
    # The call in progress (or the last one) is the placement call.
    placement_call: bool = False

    @rx.var
    def in_call(self) -> bool:
        return self.status in LIVE_STATES

    @rx.var
    def status_label(self) -> str:
        return {
            "idle": "Ready",
            "connecting": "Connecting…",
            "live": "Live",
            "reconnecting": "Reconnecting…",
            "ending": "Ending…",
            "ended": "Ended",
        }.get(self.status, self.status)

    @rx.var
    def minutes_left(self) -> str:
        if self.seconds_left < 0:
            return ""
        return f"{format_duration(self.seconds_left)} left"

    # ----- page load and set-up -----

    @rx.event
    async def load(self) -> rx.event.EventSpec | None:
        user = signed_in_user(self)
        if user is None:
            return login_redirect(self)
        settings = get_settings()
        self.simulated = settings.openai_simulated
        self.signaling = settings.realtime_signaling
        if not self.in_call:
            self.level = await off_loop(_read_level, user.id, user.target_language)
            self.language_name = languages.name(user.target_language)
            self.explanation_name = languages.name(user.explanation_language)
            if self.topic not in scenario_ids():
                self.topic = SCENARIOS[0].id
        self._show_preferences(await off_loop(_read_preferences, user.id))
        await self._refresh_balance(user.id)
        return None

    def _show_preferences(self, prefs: Preferences) -> None:
        self.push_to_talk = prefs.push_to_talk
        self.backchannel = prefs.backchannel.value
        self.audio_setup = prefs.audio_setup.value
        self.mic_checked = prefs.mic_checked_at is not None

    def _save_preferences(self, **changes: Any) -> None:
        user = signed_in_user(self)
        if user is None:
            return
        with session_scope() as session:
            self._show_preferences(save_preferences(session=session, user_id=user.id, **changes))

    @rx.event
    def set_push_to_talk(self, value: bool) -> None:
        self._save_preferences(push_to_talk=bool(value))

    @rx.event
    def set_backchannel(self, value: str) -> None:
        self._save_preferences(backchannel=value)

    @rx.event
    def set_audio_setup(self, value: str) -> None:
        if not self.in_call:
            self._save_preferences(audio_setup=value)

    @rx.event
    def check_mic(self) -> None:
        if self.in_call or self.checking_mic or signed_in_user(self) is None:
            return
        self.error = self.error_code = ""
        self.mic_verdict = self.mic_message = ""
        self.checking_mic = True
        self._command("check")

    @rx.event
    def on_mic_check(self, peak_dbfs: int, noise_dbfs: int, speech_ms: int) -> None:
        self.checking_mic = False
        result = mic_check.judge(
            peak_dbfs=int(peak_dbfs), noise_dbfs=int(noise_dbfs), speech_ms=int(speech_ms)
        )
        self.mic_verdict = result.verdict.value
        self.mic_message = result.message
        self._save_preferences(mic_checked=True)

    async def _refresh_balance(self, user_id: Any) -> None:
        def read() -> int:
            with session_scope() as session:
                return ledger.balance(session=session, user_id=user_id)

        millicredits = await off_loop(read)
        self.balance_text = ledger.format_credits(millicredits)
        self.has_credits = millicredits > 0

    @rx.event
    def set_level(self, value: str) -> None:
        if value in LEVELS and not self.in_call:
            self.level = value

    @rx.event
    def set_topic(self, value: str) -> None:
        if value in scenario_ids() and not self.in_call:
            self.topic = value

    @rx.event
    def set_vocabulary(self, value: str) -> None:
        if not self.in_call:
            self.vocabulary = value[:1000]

    def _fail(self, code: str, detail: str = "") -> None:
        """Show what went wrong and the next step. The server's refusals carry their own
        plain-language message, shown as the server words it; browser-side problems have
        theirs in reasons.py."""
        self.error_code = code
        if code == BrowserProblem.MIC_DENIED:
            self.error = microphone_help(self.router.headers.user_agent)
        elif code in SERVER_CODES and detail:
            self.error = detail[:300]
        elif code == RefusalCode.NO_CREDITS:
            self.error = errors.NO_CREDITS_MESSAGE
        elif code in BrowserProblem.__members__.values():
            self.error = BROWSER_MESSAGES[BrowserProblem(code)]
        else:
            self.error = detail[:300] or BROWSER_MESSAGES[BrowserProblem.PROVIDER]

    def _command(self, command: str) -> None:
        self.command = command
        self.command_id += 1

    # ----- starting and ending -----

    @rx.event
    async def start(self) -> rx.event.EventSpec | None:
        if self.in_call or self.checking_mic:
            return None
        user = signed_in_user(self)
        if user is None:
            return login_redirect(self)
        self.error = self.error_code = self.notice = self.notice_link = self.summary = ""
        self.placement_call = self.topic == PLACEMENT_SCENARIO_ID
        self.captions = []
        self.session_id = self.client_secret = self.calls_url = ""
        self.seconds_left = -1
        self.low_balance = self.tutor_speaking = self.listening = False
        await self._refresh_balance(user.id)
        if not self.has_credits:
            self._fail(RefusalCode.NO_CREDITS, errors.NO_CREDITS_MESSAGE)
            self._command("release")
            return None
        try:
            vocabulary = calls.parse_vocabulary(self.vocabulary)
        except CallRefused as refused:
            self._fail(refused.code, refused.message)
            self._command("release")
            return None
        settings = get_settings()
        self.signaling = settings.realtime_signaling
        if self.signaling == "ephemeral":
            try:
                grant = await calls.mint_ephemeral(
                    user_id=user.id,
                    level=self.level,
                    topic=self.topic,
                    vocabulary=vocabulary,
                    audio_setup=self.audio_setup,
                )
            except CallRefused as refused:
                self._fail(refused.code, refused.message)
                self._command("release")
                return None
            self.client_secret = grant.client_secret
            self.calls_url = grant.calls_url
            self.session_id = str(grant.session_id)
        else:
            query = {"level": self.level, "topic": self.topic}
            if vocabulary:
                query["vocabulary"] = ",".join(vocabulary)
            query["setup"] = self.audio_setup
            self.offer_url = "/api/realtime/calls?" + urlencode(query)
        self.status = "connecting"
        self._command("start")
        return None

    @rx.event
    async def start_placement(self) -> rx.event.EventSpec | None:
        """The classroom's offer: "Find your level in five minutes" starts the placement
        call (scenarios.PLACEMENT_SCENARIO) like any lesson; the picked topic stays."""
        if self.in_call or self.checking_mic:
            return None
        chosen = self.topic
        self.topic = PLACEMENT_SCENARIO_ID
        try:
            return await self.start()
        finally:
            # The relay's offer URL (or the ephemeral session) already carries the topic.
            self.topic = chosen

    @rx.event
    async def end(self) -> None:
        user = signed_in_user(self)
        self._command("stop")
        session_id = self.session_id
        if user is not None and session_id:
            await self._keep_captions(user.id, session_id)
            try:
                await calls.end_call(
                    user_id=user.id, session_id=session_id, reason=EndReason.ENDED_BY_LEARNER
                )
            except CallRefused as refused:
                log.info("end_call refused: %s", refused.code)
            await self._finish(user.id, session_id)
        else:
            self.status = "ended"

    async def _keep_captions(self, user_id: Any, session_id: str) -> None:
        """Hand the captions this page showed to the server: if a worker took the call
        over, what no worker heard is kept from them (calls.keep_page_captions)."""
        try:
            await calls.keep_page_captions(user_id=user_id, session_id=session_id, captions=self.captions)
        except CallRefused as refused:
            log.info("keep_page_captions refused: %s", refused.code)

    async def _finish(self, user_id: Any, session_id: str, reason_message: str = "") -> None:
        """Show the lesson's outcome once it has ended on the server."""
        self.status = "ended"
        self.tutor_speaking = self.listening = False
        self.client_secret = ""
        await self._keep_captions(user_id, session_id)
        try:
            status = await calls.call_status(user_id=user_id, session_id=session_id)
        except CallRefused:
            status = None
        if status is not None and status.status in (SessionStatus.ENDED.value, SessionStatus.FAILED.value):
            used = ledger.format_credits(status.charged_millicredits)
            self.summary = f"Lesson saved: {format_duration(status.seconds_connected)}, {used} used. " + (
                "Your level will appear in History in a moment."
                if self.placement_call
                else "Your feedback will appear in History in a moment."
            )
            self.last_session_id = session_id
            if not reason_message and status.end_reason not in (None, EndReason.ENDED_BY_LEARNER):
                # The server ended it (credits ran out, time limit, connection lost …).
                reason_message = status.ended_message
                self.notice_link = "/pricing" if status.end_reason is EndReason.OUT_OF_CREDITS else ""
        if reason_message:
            self.notice = reason_message
        self.session_id = ""
        await self._refresh_balance(user_id)

    @rx.event
    def toggle_mute(self) -> None:
        self.muted = not self.muted

    # ----- reports from the browser component -----

    @rx.event
    async def on_call_started(self, call_id: str, session_id: str) -> Any:
        user = signed_in_user(self)
        if user is None:
            self._command("stop")
            return login_redirect(self)
        if self.signaling == "ephemeral":
            try:
                await calls.attach_call(user_id=user.id, session_id=self.session_id, call_id=call_id)
            except CallRefused as refused:
                self._command("stop")
                self.status = "idle"
                self._fail(refused.code, refused.message)
                return None
        else:
            self.session_id = session_id
        return ClassroomState.watch

    @rx.event
    def on_status(self, status: str, detail: str) -> None:
        if status == "ended":
            if self.session_id and self.status in ("connecting", "live", "reconnecting"):
                # The tutor's side closed the call (our server hung up, or the provider
                # did). The watcher shows the outcome once the server has finalised it.
                self.status = "ending"
            elif self.status != "ending":
                self.status = "ended"
            return
        if status in ("connecting", "live", "reconnecting") and self.status not in ("ended", "ending"):
            self.status = status

    @rx.event
    async def on_error(self, code: str, detail: str) -> None:
        user = signed_in_user(self)
        self.checking_mic = False
        live = self.status in ("live", "reconnecting", "ending")
        if code == BrowserProblem.PROVIDER and live:
            # A mid-call error event: the call goes on; tell the learner.
            self.notice = (
                f"The tutor service reported a problem ({detail[:200]}). The lesson goes on; if the "
                "tutor stops answering, press End session and start again."
            )
            return
        self._fail(code, detail)
        if user is None:
            self.status = "idle"
            return
        if self.session_id:
            if live or code == BrowserProblem.NETWORK_LOST:
                await calls.end_call(
                    user_id=user.id, session_id=self.session_id, reason=EndReason.NETWORK_LOST
                )
                await self._finish(user.id, self.session_id)
                return
            await calls.abandon_start(user_id=user.id, session_id=self.session_id, reason=EndReason.ABANDONED)
            self.session_id = ""
        self.status = "idle"
        await self._refresh_balance(user.id)

    @rx.event
    def on_transcript(self, items: list[dict[str, Any]]) -> None:
        index = {c["id"]: i for i, c in enumerate(self.captions)}
        captions = list(self.captions)
        for item in items[:50]:
            if not isinstance(item, dict) or item.get("speaker") not in ("learner", "tutor"):
                continue
            entry = {
                "id": str(item.get("id", ""))[:100],
                "speaker": item["speaker"],
                "text": str(item.get("text", ""))[:4000],
            }
            entry["parts"] = caption_parts(
                entry["text"], item.get("logprobs") if item["speaker"] == "learner" else None
            )
            if entry["id"] in index:
                captions[index[entry["id"]]] = entry
            else:
                index[entry["id"]] = len(captions)
                captions.append(entry)
        self.captions = captions[-MAX_CAPTIONS:]

    @rx.event
    def on_speaking(self, speaking: bool) -> None:
        self.tutor_speaking = bool(speaking)

    @rx.event
    def on_listening(self, listening: bool) -> None:
        self.listening = bool(listening)

    # ----- following the call on the server -----

    @rx.event(background=True)
    async def watch(self) -> None:
        """Poll the server's view of the call: minutes left, the one-minute warning, and
        an end the server decided (credits ran out, time limit, call dropped)."""
        ending_polls = 0
        while True:
            async with self:
                if not self.session_id or self.status not in LIVE_STATES:
                    return
                user = signed_in_user(self)
                if user is None:
                    self._command("stop")
                    self.status = "ended"
                    return
                try:
                    status = await calls.call_status(user_id=user.id, session_id=self.session_id)
                except CallRefused:
                    return
                self.seconds_left = max(0, int(status.seconds_left))
                self.low_balance = bool(status.low_balance)
                if self.status == "ending":
                    ending_polls += 1
                final = status.status in (SessionStatus.ENDED.value, SessionStatus.FAILED.value)
                if final or ending_polls > ENDING_POLLS:
                    self._command("stop")
                    await self._finish(user.id, self.session_id)
                    return
            await asyncio.sleep(POLL_SECONDS)
