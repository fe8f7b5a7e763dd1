"""Calls owned by worker processes (issue 14): real `python -m fluentio.cli worker`
processes, the simulator as its own process, PostgreSQL, and an aiortc learner whose
call this test process starts as the web process would (FLUENTIO_PROCESS_ROLE=web: it
relays the offer and records the call; a worker claims and supervises it).

- `kill -9` of the owner: another worker takes the call over within 10 s (read from the
  lease row), the lesson goes on, it is charged once within 1 s of the simulator's own
  connected time, and the transcript is complete (word for word the simulator's
  conversation, in order);
- a sentence said while no worker listened is fetched by the next owner
  (`conversation.item.retrieve`) and stored in its place;
- SIGTERM of the owner hands the call over (no hang-up) and exits 0; a worker starting
  meanwhile, and start-up recovery at its most eager, never end a call whose owner lives;
- SIGTERM of the last worker ends its calls as a single process does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from fluentio.classroom import calls, recovery
from fluentio.db import session_scope
from fluentio.models import PracticeSession, TranscriptItem, WorkerProcess
from fluentio.models.billing import LedgerEntry
from fluentio.settings import get_settings
from tests.integration.test_classroom_calls import make_learner, row
from tests.support.databases import fresh_postgres
from tests.support.fake_learner import FakeLearner
from tests.support.sim_server import RunningSimulator, running_simulator

ROOT = Path(__file__).resolve().parents[2]
TAKEOVER_BOUND_SECONDS = 10.0


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def owner_id(self) -> str | None:
        with session_scope() as session:
            return session.exec(select(WorkerProcess.id).where(WorkerProcess.pid == self.pid)).first()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def simulator(artifacts_dir: Path) -> Iterator[RunningSimulator]:
    with running_simulator(artifacts_dir) as sim:
        yield sim


@pytest.fixture(scope="module")
def cluster_db() -> Iterator[str]:
    with fresh_postgres(prefix="fluentio_workers") as url:
        yield url


@pytest.fixture
async def cluster(
    monkeypatch: pytest.MonkeyPatch, cluster_db: str, simulator: RunningSimulator, artifacts_dir: Path
) -> AsyncIterator[Callable[[], Worker]]:
    """This process as the web role; `start()` launches a worker process. Everything is
    stopped afterwards."""
    monkeypatch.setenv("DATABASE_URL", cluster_db)
    monkeypatch.setenv("OPENAI_BASE_URL", simulator.base_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("FLUENTIO_PROCESS_ROLE", "web")
    get_settings.cache_clear()
    workers: list[Worker] = []
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": cluster_db,
        "OPENAI_BASE_URL": simulator.base_url,
        "FLUENTIO_SIMULATOR_KEY": simulator.api_key,
        "FLUENTIO_PROCESS_ROLE": "worker",
        "FLUENTIO_LOG_LEVEL": "INFO",
    }

    def start() -> Worker:
        log_path = artifacts_dir / f"worker-{uuid.uuid4().hex[:8]}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "fluentio.cli", "worker"],
                cwd=ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(process, log_path)
        workers.append(worker)
        return worker

    yield start
    for learner in LEARNERS:
        await learner.leave()
    LEARNERS.clear()
    for worker in workers:
        worker.stop()


LEARNERS: list[FakeLearner] = []


async def ready(*workers: Worker, within: float = 60.0) -> None:
    """Each worker has registered and finished its start-up recovery."""
    await until(lambda: all("worker ready" in w.log() for w in workers), within=within, what="workers ready")


async def until(predicate: Callable[[], Any], *, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await asyncio.to_thread(predicate)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.1)


def speakers(session_id: str) -> list[str]:
    with session_scope() as session:
        return list(
            session.exec(
                select(TranscriptItem.speaker)
                .where(TranscriptItem.session_id == uuid.UUID(session_id))
                .order_by(col(TranscriptItem.seq))
            )
        )


def transcript(session_id: str) -> list[tuple[str, str, str | None]]:
    """What was stored: (speaker, text, provider item id), in conversation order."""
    with session_scope() as session:
        rows = session.exec(
            select(TranscriptItem)
            .where(TranscriptItem.session_id == uuid.UUID(session_id))
            .order_by(col(TranscriptItem.seq))
        )
        return [(r.speaker, r.text, r.provider_item_id) for r in rows]


def conversation_heard(simulator: RunningSimulator, call_id: str) -> list[tuple[str, str, str | None]]:
    """The whole conversation as the simulator ran it: every learner sentence it heard
    (its transcription) and every tutor reply (its audio's transcript), in its order."""
    events = simulator.call_events(call_id)["server"]
    order: list[tuple[str, str]] = []
    words: dict[str, str] = {}
    for event in events:
        kind = event["type"]
        if kind == "conversation.item.added" and event["item"].get("role") in ("user", "assistant"):
            role = event["item"]["role"]
            order.append(("learner" if role == "user" else "tutor", event["item"]["id"]))
        elif kind in (
            "conversation.item.input_audio_transcription.completed",
            "response.output_audio_transcript.done",
        ):
            words[event["item_id"]] = event["transcript"]
    return [(speaker, " ".join(words[i].split()), i) for speaker, i in order if words.get(i)]


def usage_entries(session_id: str) -> list[LedgerEntry]:
    with session_scope() as session:
        return list(
            session.exec(select(LedgerEntry).where(LedgerEntry.practice_session_id == uuid.UUID(session_id)))
        )


def owner_of(workers: list[Worker], owner_id: str) -> Worker:
    pid = int(owner_id.split(":")[-2])
    return next(w for w in workers if w.pid == pid)


async def live_call_owned(user_id: uuid.UUID, *, ephemeral: bool = False) -> tuple[FakeLearner, Any, str]:
    """A call started by the web role (relayed, or opened by the browser with a client
    secret and reported) and claimed by a worker, the tutor's greeting heard."""
    learner = FakeLearner()
    LEARNERS.append(learner)
    if ephemeral:
        grant = await learner.start_ephemeral(user_id=user_id)
        started = calls.StartedCall(grant.session_id, str(learner.call_id), "", True)
    else:
        started = await learner.start_relay(user_id=user_id)
    await learner.connected()
    owner = await until(lambda: row(started.session_id).owner_id, within=10, what="a worker claimed the call")
    assert int(str(owner).split(":")[-2]) != os.getpid()  # the web process does not supervise
    await learner.wait_for("output_audio_buffer.stopped", within=30)  # the worker's greeting
    await until(lambda: row(started.session_id).status == "live", within=5, what="live")
    # Mid-lesson, with what was said so far stored (a kill loses at most the item being
    # written at that instant: TranscriptRecorder commits each item on its own).
    await until(lambda: speakers(started.session_id) == ["tutor"], within=10, what="the greeting stored")
    return learner, started, str(owner)


async def lesson_goes_on(learner: FakeLearner) -> None:
    """The learner speaks; the tutor (asked by the page, as ever) answers."""
    mark = len(learner.events)
    await learner.say("learner_hello.wav")
    said = await learner.wait_for(
        "conversation.item.input_audio_transcription.completed", after=mark, within=30
    )
    await learner.wait_for("output_audio_buffer.stopped", after=learner.events.index(said), within=30)


async def end_and_check_charge(
    simulator: RunningSimulator, user_id: uuid.UUID, started: Any, *, reason: str
) -> PracticeSession:
    await calls.end_call(user_id=user_id, session_id=started.session_id)
    final = await until(
        lambda: (r := row(started.session_id)).status not in ("starting", "live") and r,
        within=15,
        what="finalised",
    )
    record = await until(
        lambda: (c := simulator.call_events(started.call_id))["ended_at"] and c,
        within=10,
        what="provider ended",
    )
    entries = usage_entries(started.session_id)
    assert len(entries) == 1 and -entries[0].millicredits == final.charged_millicredits > 0
    assert final.status == "ended" and final.end_reason == reason
    provider_seconds = record["ended_at"] - record["created_at_exact"]
    assert abs(final.billable_seconds - provider_seconds) <= 1.0, (final.billable_seconds, provider_seconds)
    assert final.charged_millicredits == final.billable_seconds * 1000 // 60
    assert final.owner_id is None and final.lease_expires_at is None
    return final


async def take_over_with(successor: Worker, started: Any) -> None:
    """A worker started after the owner was killed claims the call and re-attaches."""
    await until(
        lambda: (o := row(started.session_id).owner_id) is not None and successor.owner_id() == o,
        within=60,
        what="the new worker took the call over",
    )
    await until(lambda: "taken over" in successor.log(), within=10, what="re-attached")


async def test_kill_9_of_the_owner_hands_the_call_to_another_worker_charged_once(
    cluster: Callable[[], Worker], simulator: RunningSimulator
) -> None:
    workers = [cluster(), cluster()]
    await ready(*workers)
    user_id = make_learner(30_000)
    learner, started, first_owner = await live_call_owned(user_id)
    victim = owner_of(workers, first_owner)

    os.killpg(victim.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    new_owner = await until(
        lambda: (o := row(started.session_id).owner_id) not in (None, first_owner) and o,
        within=TAKEOVER_BOUND_SECONDS,
        what="another worker took the call over",
    )
    took = time.monotonic() - killed_at
    survivor = next(w for w in workers if w is not victim)
    assert survivor.owner_id() == new_owner and took <= TAKEOVER_BOUND_SECONDS
    assert row(started.session_id).status == "live"
    assert simulator.call_events(started.call_id)["state"] == "active"
    assert learner.count("output_audio_buffer.started") == 1  # taken over: no second greeting

    await lesson_goes_on(learner)
    await end_and_check_charge(simulator, user_id, started, reason="ended_by_learner")
    heard = conversation_heard(simulator, started.call_id)
    assert [speaker for speaker, _, _ in heard] == ["tutor", "learner", "tutor"]
    assert transcript(started.session_id) == heard  # complete, in order, word for word
    assert "taken over" in survivor.log()


async def test_a_paused_owner_that_lost_its_lease_lets_go_without_hanging_up(
    cluster: Callable[[], Worker], simulator: RunningSimulator
) -> None:
    """The owner freezes (SIGSTOP: a stalled VM, a swap storm) past its lease; another
    worker takes the call over. When the frozen one wakes up with the call still in its
    hands, it must let go at its next renewal: no hang-up, no charge, no second transcript."""
    workers = [cluster(), cluster()]
    await ready(*workers)
    user_id = make_learner(30_000)
    learner, started, first_owner = await live_call_owned(user_id)
    frozen = owner_of(workers, first_owner)
    survivor = next(w for w in workers if w is not frozen)

    os.killpg(frozen.pid, signal.SIGSTOP)
    try:
        new_owner = await until(
            lambda: (o := row(started.session_id).owner_id) not in (None, first_owner) and o,
            within=TAKEOVER_BOUND_SECONDS,
            what="another worker took the frozen owner's call over",
        )
        assert survivor.owner_id() == new_owner
        await until(lambda: "taken over" in survivor.log(), within=10, what="re-attached")
    finally:
        os.killpg(frozen.pid, signal.SIGCONT)

    await until(
        lambda: "lease lost to another process; letting go" in frozen.log(),
        within=10,
        what="the woken owner let go",
    )
    assert frozen.process.poll() is None  # it lives on, only without the call
    assert row(started.session_id).owner_id == new_owner and row(started.session_id).status == "live"
    assert simulator.call_events(started.call_id)["state"] == "active"  # nobody hung up
    assert usage_entries(started.session_id) == []

    await lesson_goes_on(learner)
    await end_and_check_charge(simulator, user_id, started, reason="ended_by_learner")
    heard = conversation_heard(simulator, started.call_id)
    assert [speaker for speaker, _, _ in heard] == ["tutor", "learner", "tutor"]
    assert transcript(started.session_id) == heard  # one row per item: the woken owner wrote none twice


async def test_what_the_learner_said_while_no_worker_listened_is_fetched_after_the_take_over(
    cluster: Callable[[], Worker], simulator: RunningSimulator
) -> None:
    """The only worker is killed; the learner goes on talking (a sentence the tutor has
    not been asked to answer yet) while no worker follows the call; a worker started
    then takes the call over. The sentence reaches it only as the `previous_item_id` of
    the next one: it fetches it (`conversation.item.retrieve`) and stores it in place."""
    only = cluster()
    await ready(only)
    user_id = make_learner(30_000)
    learner, started, _ = await live_call_owned(user_id)
    os.killpg(only.pid, signal.SIGKILL)

    learner.asks_for_answers = False
    mark = len(learner.events)
    await learner.say("learner_hello.wav")
    unheard = await learner.wait_for(
        "conversation.item.input_audio_transcription.completed", after=mark, within=30
    )
    learner.asks_for_answers = True
    assert row(started.session_id).owner_id is not None  # nobody has claimed it since

    await take_over_with(cluster(), started)
    await lesson_goes_on(learner)
    await end_and_check_charge(simulator, user_id, started, reason="ended_by_learner")

    heard = conversation_heard(simulator, started.call_id)
    assert [speaker for speaker, _, _ in heard] == ["tutor", "learner", "learner", "tutor"]
    assert heard[1][2] == unheard["item_id"]
    assert transcript(started.session_id) == heard  # the unheard sentence too, in its place
    retrieves = [
        e["event"]["item_id"]
        for e in simulator.call_events(started.call_id)["client"]
        if e["event"].get("type") == "conversation.item.retrieve"
    ]
    assert retrieves == [unheard["item_id"]]


async def test_sigterm_hands_over_and_recovery_never_ends_a_live_owners_call(
    cluster: Callable[[], Worker], simulator: RunningSimulator
) -> None:
    workers = [cluster(), cluster()]
    await ready(*workers)
    user_id = make_learner(30_000)
    learner, started, first_owner = await live_call_owned(user_id)
    sid = uuid.UUID(started.session_id)

    # A worker starting now runs start-up recovery; so does this process, as eagerly as
    # role "all" does: neither ends a call whose owner renews its lease.
    late = cluster()
    workers.append(late)
    await ready(late)
    assert sid not in await recovery.recover_at_startup(only_process=True)
    assert sid not in await asyncio.to_thread(recovery.finalise_stale_calls, stale_after=0, starting_ttl=0)
    assert row(started.session_id).status == "live" and row(started.session_id).owner_id == first_owner

    leaving = owner_of(workers, first_owner)
    leaving.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(leaving.process.wait, 30) == 0
    assert "handed 1 call(s) over" in leaving.log()
    new_owner = await until(
        lambda: (o := row(started.session_id).owner_id) not in (None, first_owner) and o,
        within=TAKEOVER_BOUND_SECONDS,
        what="another worker took the call over",
    )
    assert new_owner in {w.owner_id() for w in workers if w is not leaving}
    assert simulator.call_events(started.call_id)["state"] == "active"

    await lesson_goes_on(learner)
    await end_and_check_charge(simulator, user_id, started, reason="ended_by_learner")
    assert transcript(started.session_id) == conversation_heard(simulator, started.call_id)


async def test_the_last_worker_stopping_ends_its_calls(
    cluster: Callable[[], Worker], simulator: RunningSimulator
) -> None:
    """Also: a call the browser opened itself (ephemeral) and reported is claimed the same way."""
    only = cluster()
    await ready(only)
    user_id = make_learner(30_000)
    _, started, _ = await live_call_owned(user_id, ephemeral=True)
    only.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(only.process.wait, 30) == 0
    final = row(started.session_id)
    assert final.status == "ended" and final.end_reason == "server_shutdown"
    entries = usage_entries(started.session_id)
    assert len(entries) == 1 and -entries[0].millicredits == final.charged_millicredits
    await until(lambda: simulator.call_events(started.call_id)["state"] == "ended", within=10, what="hung up")


def page_captions(learner: FakeLearner) -> list[dict[str, str]]:
    """The finished captions the learner's page showed, in its order (what the classroom
    state holds): every item the page heard on its own data channel."""
    shown: list[dict[str, str]] = []
    for event in learner.events:
        kind = event.get("type")
        if kind == "conversation.item.input_audio_transcription.completed":
            shown.append({"id": event["item_id"], "speaker": "learner", "text": event["transcript"]})
        elif kind == "response.output_audio_transcript.done":
            shown.append({"id": event["item_id"], "speaker": "tutor", "text": event["transcript"]})
    return shown


async def test_a_whole_exchange_no_worker_heard_is_kept_from_the_learners_page(
    cluster: Callable[[], Worker], simulator: RunningSimulator
) -> None:
    """The only worker is killed; the learner says a sentence AND the tutor answers it
    before another worker takes over. The next event names only the answer (fetched with
    `conversation.item.retrieve`); the sentence before it is named by nothing the new
    worker hears. The page heard both: its captions fill the gap, in place, at End."""
    only = cluster()
    await ready(only)
    user_id = make_learner(30_000)
    learner, started, _ = await live_call_owned(user_id)
    os.killpg(only.pid, signal.SIGKILL)
    await lesson_goes_on(learner)  # said and answered while nobody follows the call

    await take_over_with(cluster(), started)
    await lesson_goes_on(learner)
    assert row(started.session_id).takeovers == 1
    # A stranger cannot write into this learner's transcript.
    with pytest.raises(calls.CallRefused):
        await calls.keep_page_captions(
            user_id=make_learner(1_000), session_id=started.session_id, captions=page_captions(learner)
        )
    added = await calls.keep_page_captions(
        user_id=user_id, session_id=started.session_id, captions=page_captions(learner)
    )
    assert added >= 1
    await end_and_check_charge(simulator, user_id, started, reason="ended_by_learner")

    heard = conversation_heard(simulator, started.call_id)
    assert [speaker for speaker, _, _ in heard] == ["tutor", "learner", "tutor", "learner", "tutor"]
    assert transcript(started.session_id) == heard  # complete, in order, word for word
    # Handing the captions over again changes nothing.
    assert (
        await calls.keep_page_captions(
            user_id=user_id, session_id=started.session_id, captions=page_captions(learner)
        )
        == 0
    )


async def test_a_call_never_taken_over_keeps_only_what_the_sideband_heard(
    cluster: Callable[[], Worker], simulator: RunningSimulator
) -> None:
    worker = cluster()
    await ready(worker)
    user_id = make_learner(30_000)
    learner, started, _ = await live_call_owned(user_id)
    await lesson_goes_on(learner)
    invented = [*page_captions(learner), {"id": "item_invented", "speaker": "learner", "text": "Not said."}]
    assert (
        await calls.keep_page_captions(user_id=user_id, session_id=started.session_id, captions=invented) == 0
    )
    await end_and_check_charge(simulator, user_id, started, reason="ended_by_learner")
    assert transcript(started.session_id) == conversation_heard(simulator, started.call_id)
