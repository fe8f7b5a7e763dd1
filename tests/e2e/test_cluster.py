"""The scaled-out configuration, end to end: the local cluster (`make cluster`) with the
machine's PostgreSQL and Redis, two web workers behind one port, two workers
(`fluentio.cli worker`) and the simulator as its own process; Chromium with the fake
microphone playing the recorded learner (tests/assets/audio/classroom_learner.wav: 6 s of
silence while the tutor greets, a sentence, a pause, a second sentence over the tutor).

One cluster for the module (building the app is the slow part); the tests run in order:
lessons on both web workers, then a web worker killed mid-lesson, then the worker
supervising a lesson killed mid-lesson.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.classroom import (
    call_metrics,
    classroom_page,
    launch_mic_browser,
    run_conversation,
    stored_session,
)
from tests.support.cluster import (
    RedisUnavailableError,
    RunningCluster,
    spare_redis_url,
    start_cluster,
    stop_cluster,
    wait_for_health,
)
from tests.support.databases import fresh_postgres
from tests.support.sessions import SignedIn, signed_in_user

# The longest a takeover may take (issue 14: "within 10 s").
TAKEOVER_S = 10.0


@pytest.fixture(scope="module")
def cluster(artifacts_dir: Path) -> Iterator[RunningCluster]:
    try:
        redis_url = spare_redis_url()
    except RedisUnavailableError as exc:
        pytest.fail(str(exc), pytrace=False)
    with fresh_postgres(prefix="fluentio_cluster") as database_url:
        running = start_cluster(database_url=database_url, redis_url=redis_url, log_dir=artifacts_dir)
        try:
            yield running
        finally:
            stop_cluster(running)


@pytest.fixture(scope="module")
def mic_browser(browser: Browser) -> Iterator[Browser]:
    mic = launch_mic_browser(browser.browser_type)
    yield mic
    mic.close()


@dataclass
class Learner:
    who: SignedIn
    page: Page
    token: str
    web_worker: str  # Reflex's instance id of the web worker holding the page's socket


def page_token(page: Page) -> str:
    return str(page.evaluate("() => window.sessionStorage.getItem('token') || ''"))


def wait_socket_owner(cluster: RunningCluster, page: Page, timeout: float = 20.0) -> tuple[str, str]:
    """(the page's Reflex token, the instance id of the web worker holding its socket)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        token = page_token(page)
        owner = cluster.socket_owner(token) if token else None
        if owner:
            return token, owner
        page.wait_for_timeout(250)
    raise AssertionError("the page's socket never registered with a web worker")


def learners_on_each_web_worker(cluster: RunningCluster, browser: Browser, tries: int = 12) -> list[Learner]:
    """One signed-in classroom page on each web worker (the kernel spreads new sockets)."""
    found: dict[str, Learner] = {}
    for _ in range(tries):
        who = signed_in_user(cluster, credits=30)
        page = classroom_page(browser, cluster, who)
        token, owner = wait_socket_owner(cluster, page)
        if owner in found:
            page.context.close()
            continue
        found[owner] = Learner(who, page, token, owner)
        if len(found) == 2:
            return list(found.values())
    raise AssertionError(f"after {tries} pages every socket was on the same web worker")


@dataclass
class Connected:
    """The call's connected time as the page saw it: the provider created the call after
    the offer left (`offer_s` from then to End) and before the answer arrived (`answer_s`),
    and the page closes its connection when End is pressed."""

    answer_s: float
    offer_s: float
    click_epoch: float

    def __str__(self) -> str:
        return f"page: {self.answer_s:.1f}–{self.offer_s:.1f} s, End pressed at {self.click_epoch:.1f}"


def finish_lesson(cluster: RunningCluster, learner: Learner) -> Connected:
    """End the lesson from the page; returns how long it was connected as the page saw it."""
    page = learner.page
    clicked = page.evaluate("() => [performance.now(), performance.timeOrigin + performance.now()]")
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_test_id("call-summary")).to_contain_text("Lesson saved", timeout=20_000)
    expect(page.get_by_test_id("call-status")).to_have_text("Ended")
    answer_at, offer_at = page.evaluate(
        "() => [window.__fluentioCall.answerAt, window.__fluentioCall.offerAt]"
    )
    return Connected(
        answer_s=(clicked[0] - answer_at) / 1000,
        offer_s=(clicked[0] - offer_at) / 1000,
        click_epoch=clicked[1] / 1000,
    )


def assert_charged_once_with_both_sides(
    cluster: RunningCluster, learner: Learner, connected: Connected, *, learner_lines: int = 2
) -> None:
    # Finalising may lag the page by a moment (the sideband closes after the hang-up).
    deadline = time.monotonic() + 20
    while True:
        practice, items, usage = stored_session(cluster, learner.who.user_id)
        if practice.status == "ended" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert practice.status == "ended", practice.status
    assert len(usage) == 1, f"{len(usage)} usage charges"
    assert usage[0].millicredits == -practice.charged_millicredits
    # Within 1 s of the connected time the page saw, plus the rounding to whole seconds.
    server = (
        f"charged {practice.billable_seconds} s from {practice.started_at} to {practice.ended_at}; "
        f"{connected} ({time.strftime('%H:%M:%S', time.gmtime(connected.click_epoch))})"
    )
    assert connected.answer_s - 1.5 <= practice.billable_seconds <= connected.offer_s + 1.5, server
    speakers = {i.speaker for i in items}
    assert {"learner", "tutor"} <= speakers, speakers
    stored = sum(1 for i in items if i.speaker == "learner")
    assert stored >= learner_lines, f"{stored} of the learner's sentences stored, expected {learner_lines}"


def test_lessons_through_either_web_worker_connect_caption_and_finish(
    cluster: RunningCluster, mic_browser: Browser
) -> None:
    assert len(cluster.web_worker_pids()) == 2, "two web workers behind the one port"
    learners = learners_on_each_web_worker(cluster, mic_browser)
    for learner in learners:
        expect(learner.page.get_by_test_id("simulator-banner")).to_be_visible()
        run_conversation(learner.page)
        expect(learner.page.get_by_test_id("captions").locator("[data-speaker=learner]")).to_have_count(
            2, timeout=20_000
        )
        connected = finish_lesson(cluster, learner)
        assert_charged_once_with_both_sides(cluster, learner, connected)
        learner.page.context.close()


def diagnose(cluster: RunningCluster, learner: Learner, artifacts_dir: Path) -> str:
    """What the page and the server saw, for a failure message."""
    page = learner.page
    page.screenshot(path=str(artifacts_dir / f"cluster-{learner.who.user_id}.png"))
    metrics = call_metrics(page)
    lines = page.get_by_test_id("captions").locator("[data-speaker]").all_inner_texts()
    practice, items, usage = stored_session(cluster, learner.who.user_id)
    return (
        f"moved={learner.web_worker}; page: speechStopped={len(metrics.get('speechStopped', []))} "
        f"replies={len(metrics.get('replies', []))} bargeIns={len(metrics.get('bargeIns', []))} "
        f"received={metrics.get('received')} captions={lines}; server: status={practice.status} "
        f"items={[(i.speaker, i.text[:30]) for i in items]} charges={len(usage)}"
    )


def test_killing_a_web_worker_mid_lesson_the_page_reconnects_and_nothing_is_lost(
    cluster: RunningCluster, mic_browser: Browser, artifacts_dir: Path
) -> None:
    learners = learners_on_each_web_worker(cluster, mic_browser)
    for learner in learners:
        learner.page.get_by_role("button", name="Start session").click()
    for learner in learners:
        expect(learner.page.get_by_test_id("call-status")).to_have_text("Live", timeout=20_000)
        expect(learner.page.get_by_test_id("captions").locator("[data-speaker=tutor]").first).to_be_visible(
            timeout=20_000
        )

    before = cluster.web_worker_pids()
    victim = before[0]
    os.kill(victim, signal.SIGKILL)

    # Granian replaces the worker; the app answers throughout.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = cluster.web_worker_pids()
        if len(now) == 2 and victim not in now:
            break
        time.sleep(0.5)
    assert victim not in cluster.web_worker_pids(), "the killed web worker was replaced"
    wait_for_health(cluster)

    # The learner whose socket was on the killed worker is now on another one.
    moved = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not moved:
        for learner in learners:
            token, owner = wait_socket_owner(cluster, learner.page)
            if (token, owner) != (learner.token, learner.web_worker):
                moved.append(learner)
        time.sleep(0.5)
    assert moved, "one learner's socket moved to a live web worker"

    # Nothing is lost: each lesson goes on (the learner's sentences, spoken after the kill,
    # are captioned and answered), then ends, charged once, with both sides stored.
    for learner in learners:
        page = learner.page
        expect(page.get_by_test_id("call-status")).to_have_text("Live", timeout=20_000)
        captions = page.get_by_test_id("captions")
        expect(captions.locator("[data-speaker=tutor]").first).to_be_visible()
        try:
            expect(captions.locator("[data-speaker=learner]")).to_have_count(2, timeout=40_000)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{diagnose(cluster, learner, artifacts_dir)}") from None
        page.wait_for_function("() => (window.__fluentioCall || {}).replies.length >= 1", timeout=20_000)
        expect(page.get_by_test_id("call-connection")).to_have_count(0, timeout=15_000)
        expect(page.get_by_test_id("minutes-left")).to_contain_text("left")
        connected = finish_lesson(cluster, learner)
        assert_charged_once_with_both_sides(cluster, learner, connected)
        page.context.close()


def test_killing_the_worker_supervising_a_lesson_another_takes_it_over(
    cluster: RunningCluster, mic_browser: Browser
) -> None:
    who = signed_in_user(cluster, credits=30)
    page = classroom_page(mic_browser, cluster, who)
    learner = Learner(who, page, *wait_socket_owner(cluster, page))
    page.get_by_role("button", name="Start session").click()
    expect(page.get_by_test_id("call-status")).to_have_text("Live", timeout=20_000)
    captions = page.get_by_test_id("captions")
    expect(captions.locator("[data-speaker=tutor]").first).to_be_visible(timeout=20_000)

    deadline = time.monotonic() + 10
    owner = cluster.supervising_worker()
    while owner is None and time.monotonic() < deadline:
        time.sleep(0.25)
        owner = cluster.supervising_worker()
    assert owner is not None, (
        "no worker process holds the call's sideband to the simulator: calls are not supervised by "
        "`fluentio.cli worker` processes"
    )
    killed_pid = cluster.worker_pids()[owner]
    os.kill(killed_pid, signal.SIGKILL)
    killed_at = time.monotonic()

    # Another worker (the other one, or the killed one started again) takes the call over.
    new_owner = None
    while time.monotonic() - killed_at < TAKEOVER_S + 5:
        name = cluster.supervising_worker()
        if name is not None and cluster.worker_pids()[name] != killed_pid:
            new_owner = name
            break
        time.sleep(0.25)
    took = time.monotonic() - killed_at
    assert new_owner is not None, f"no worker took the call over within {TAKEOVER_S + 5:.0f} s"
    assert took <= TAKEOVER_S + 2, f"takeover took {took:.1f} s"

    # The learner's lesson goes on: both sentences captioned and answered, then it ends.
    expect(page.get_by_test_id("call-status")).to_have_text("Live")
    expect(captions.locator("[data-speaker=learner]")).to_have_count(2, timeout=40_000)
    page.wait_for_function("() => (window.__fluentioCall || {}).replies.length >= 1", timeout=20_000)
    connected = finish_lesson(cluster, learner)
    # The whole conversation is stored: what the provider sent while no worker listened
    # (the take-over gap) is fetched by the new owner (conversation.item.retrieve) or, for
    # an exchange the next event does not name, kept from the page's captions at End
    # (README, "Process types and call ownership").
    assert_charged_once_with_both_sides(cluster, learner, connected, learner_lines=2)
    page.context.close()
