"""Firefox for the end-to-end tests: the system Firefox (ESR on Debian) driven through
Mozilla's own Marionette client, since Playwright's Firefox build cannot be downloaded
everywhere.

Firefox's fake microphone is a steady 1 kHz tone (`media.navigator.streams.fake`), and
permission prompts are off, so a lesson starts as if the learner had clicked "Allow".
Firefox only runs AudioContexts (and so plays the tutor through the classroom's gain
node) when it has a sound server; on a machine without one, `pulse_audio` starts a
private PulseAudio with a null sink for the duration of the test run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from marionette_driver import By, Wait, errors
from marionette_driver.marionette import Marionette, WebElement

from fluentio.auth.cookies import SESSION_COOKIE
from tests.support.app_server import RunningApp
from tests.support.sessions import SignedIn

FIREFOX_PREFS: dict[str, Any] = {
    # The fake microphone (a 1 kHz tone) and no permission prompt.
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    # The tutor's audio may play without a click first (as Chromium's autoplay flag).
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
    # The simulator's WebRTC peer listens on 127.0.0.1.
    "media.peerconnection.ice.loopback": True,
    # A closed network: no updates, telemetry or captive-portal probes.
    "app.update.disabledForTesting": True,
    "network.captive-portal-service.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "browser.safebrowsing.update.enabled": False,
}


def firefox_path() -> str | None:
    """FIREFOX_PATH, or Firefox ESR / Firefox on PATH; None when there is none."""
    candidates = (os.environ.get("FIREFOX_PATH"), shutil.which("firefox-esr"), shutil.which("firefox"))
    return next((c for c in candidates if c and os.path.exists(c)), None)


@contextmanager
def pulse_audio(runtime_dir: Path) -> Iterator[str | None]:
    """A private PulseAudio with a null sink; yields its server address for PULSE_SERVER.

    Yields None when PulseAudio is not installed (Firefox then has no audio output and the
    audio checks cannot run). The daemon is ours alone (its own runtime directory and
    socket), so it never disturbs a learner's or another test run's sound server.
    """
    binary = shutil.which("pulseaudio")
    if binary is None:
        yield None
        return
    runtime_dir.mkdir(parents=True, exist_ok=True)
    socket_path = runtime_dir / "native"
    env = {**os.environ, "HOME": str(runtime_dir), "XDG_RUNTIME_DIR": str(runtime_dir)}
    process = subprocess.Popen(
        [
            binary,
            "--daemonize=no",
            "--system=no",
            "-n",  # no default.pa: only the two modules below
            "--exit-idle-time=-1",
            f"--log-target=file:{runtime_dir / 'pulseaudio.log'}",
            "-L",
            f"module-native-protocol-unix socket={socket_path} auth-anonymous=1",
            "-L",
            "module-null-sink sink_name=fluentio_speakers",
            "-L",
            "module-null-source source_name=fluentio_silent_mic",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while not socket_path.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PulseAudio did not start; see {runtime_dir / 'pulseaudio.log'}")
            time.sleep(0.05)
        yield f"unix:{socket_path}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Firefox:
    """A headless Firefox session with the few helpers the tests need."""

    marionette: Marionette

    def goto(self, url: str) -> None:
        self.marionette.navigate(url)

    def wait_until(
        self, condition: Callable[[Marionette], Any], timeout: float = 15, message: str = ""
    ) -> Any:
        return Wait(self.marionette, timeout=timeout, interval=0.1).until(condition, message=message)

    def js(self, script: str, *args: Any) -> Any:
        """Run `script` (a function body) in the page; `arguments[i]` are `args`."""
        return self.marionette.execute_script(script, script_args=args, sandbox=None)

    def wait_for_js(self, expression: str, timeout: float = 15, message: str = "") -> Any:
        return self.wait_until(lambda _: self.js(f"return {expression};"), timeout, message or expression)

    def element(self, css: str, timeout: float = 15) -> WebElement:
        return self.wait_until(
            lambda m: self._displayed(m.find_elements(By.CSS_SELECTOR, css)), timeout, f"no visible {css}"
        )

    def button(self, name: str, timeout: float = 15) -> WebElement:
        xpath = f"//button[normalize-space()={_xpath_literal(name)}]"
        return self.wait_until(
            lambda m: self._enabled(m.find_elements(By.XPATH, xpath)), timeout, f"no enabled button {name!r}"
        )

    def fill(self, name: str, value: str) -> None:
        field = self.element(f"input[name={name}]")
        field.clear()
        field.send_keys(value)

    def text(self, css: str) -> str:
        return str(self.element(css).text)

    def wait_for_text(self, css: str, expected: str, timeout: float = 15) -> str:
        """Wait until the visible element `css` contains `expected`; returns its text."""

        def contains(m: Marionette) -> str | None:
            for element in m.find_elements(By.CSS_SELECTOR, css):
                if element.is_displayed() and expected in element.text:
                    return str(element.text)
            return None

        return str(self.wait_until(contains, timeout, f"{css} never showed {expected!r}"))

    def wait_for_url(self, predicate: Callable[[str], bool], timeout: float = 15) -> str:
        return str(self.wait_until(lambda m: m.get_url() if predicate(m.get_url()) else None, timeout))

    def hydrated(self, timeout: float = 30) -> None:
        """Wait until React has hydrated the prerendered page (it is interactive)."""
        self.wait_for_js(
            "Object.keys(document).some(k => k.startsWith('__reactContainer'))",
            timeout,
            "the page never became interactive",
        )

    def script_errors(self, origin: str) -> list[str]:
        """Uncaught script errors Firefox logged for `origin` in this session.

        Only JavaScript errors count: Firefox also logs, as errors, asset requests that a
        navigation cut short while the service worker was answering them.
        """
        with self.marionette.using_context(self.marionette.CONTEXT_CHROME):
            messages = self.marionette.execute_script(
                """
                const [origin] = arguments;
                return Services.console.getMessageArray()
                  .filter(m => m instanceof Ci.nsIScriptError && !(m.flags & Ci.nsIScriptError.warningFlag))
                  .filter(m => !m.isFromChromeContext && (m.sourceName || '').startsWith(origin))
                  .filter(m => /javascript/i.test(m.category || ''))
                  .map(m => `[${m.category}] ${m.errorMessage} (${m.sourceName}:${m.lineNumber})`);
                """,
                script_args=(origin,),
            )
        return [str(m) for m in messages]

    def reset_console(self) -> None:
        with self.marionette.using_context(self.marionette.CONTEXT_CHROME):
            self.marionette.execute_script("Services.console.reset();")

    def sign_in_as(self, app: RunningApp, who: SignedIn) -> None:
        """Put `who`'s session cookie on the app's origin (the page must be on it first)."""
        self.goto(app.url("/robots.txt"))
        self.marionette.add_cookie(
            {
                "name": SESSION_COOKIE,
                "value": who.token,
                "domain": urlsplit(app.base_url).hostname,
                "path": "/",
                "httpOnly": True,
                "sameSite": "Lax",
            }
        )

    def sign_out(self) -> None:
        self.marionette.delete_all_cookies()

    @staticmethod
    def _displayed(elements: list[WebElement]) -> WebElement | None:
        return next((e for e in elements if e.is_displayed()), None)

    @staticmethod
    def _enabled(elements: list[WebElement]) -> WebElement | None:
        return next((e for e in elements if e.is_displayed() and e.is_enabled()), None)


def _xpath_literal(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    return "concat('" + "', \"'\", '".join(text.split("'")) + "')"


@contextmanager
def firefox_session(binary: str, *, pulse_server: str | None, log_dir: Path) -> Iterator[Firefox]:
    """A headless Firefox with a fresh profile, closed (and its profile removed) afterwards."""
    previous = os.environ.get("PULSE_SERVER")
    if pulse_server:
        # mozrunner starts Firefox with this process's environment.
        os.environ["PULSE_SERVER"] = pulse_server
    marionette = Marionette(
        bin=binary,
        headless=True,
        port=0,
        prefs=FIREFOX_PREFS,
        gecko_log=str(log_dir / "firefox-gecko.log"),
        startup_timeout=120,
    )
    try:
        marionette.start_session()
        marionette.set_window_rect(width=1280, height=900)
        yield Firefox(marionette)
    finally:
        profile = marionette.instance.profile if marionette.instance else None
        with suppress(errors.MarionetteException):
            marionette.cleanup()
        if profile is not None:
            # Now, not from the profile's __del__ at interpreter exit (which fails noisily).
            profile.cleanup()
            profile.restore = False
        if pulse_server:
            if previous is None:
                os.environ.pop("PULSE_SERVER", None)
            else:
                os.environ["PULSE_SERVER"] = previous
