"""Help that matches the learner's device: how to allow the microphone and how to install
Fluentio on the home screen, chosen from the browser's user agent.

Every platform has both texts; an unknown or empty user agent gets the generic ones.
iPadOS Safari reports itself as desktop Safari, so the desktop Safari text also names
the iPad's way.
"""

from __future__ import annotations

import re
from enum import StrEnum

import reflex as rx


class Platform(StrEnum):
    IOS_SAFARI = "ios_safari"
    IOS_OTHER = "ios_other"  # Chrome, Firefox, Edge … on iPhone: WebKit, the iOS settings
    ANDROID_CHROME = "android_chrome"
    ANDROID_OTHER = "android_other"
    DESKTOP_CHROMIUM = "desktop_chromium"  # Chrome, Edge, Opera, Brave …
    DESKTOP_FIREFOX = "desktop_firefox"
    DESKTOP_SAFARI = "desktop_safari"
    OTHER = "other"


_IOS_DEVICE = re.compile(r"\b(iPhone|iPod|iPad)\b")
_IOS_OTHER_BROWSER = re.compile(r"\b(CriOS|FxiOS|EdgiOS|OPiOS|GSA)/")
_ANDROID_NOT_CHROME = re.compile(r"\b(SamsungBrowser|Firefox|EdgA|OPR|YaBrowser|UCBrowser|MiuiBrowser)/")


def platform_of(user_agent: str) -> Platform:
    """The learner's platform from a User-Agent header (OTHER when unsure)."""
    if _IOS_DEVICE.search(user_agent):
        return Platform.IOS_OTHER if _IOS_OTHER_BROWSER.search(user_agent) else Platform.IOS_SAFARI
    if "Android" in user_agent:
        if _ANDROID_NOT_CHROME.search(user_agent) or "Chrome/" not in user_agent:
            return Platform.ANDROID_OTHER
        return Platform.ANDROID_CHROME
    if "Firefox/" in user_agent:
        return Platform.DESKTOP_FIREFOX
    if "Chrome/" in user_agent or "Edg/" in user_agent:
        return Platform.DESKTOP_CHROMIUM
    if "Safari/" in user_agent and "Version/" in user_agent:
        return Platform.DESKTOP_SAFARI
    return Platform.OTHER


_AFTER = "then press Start session again."

MICROPHONE_HELP: dict[Platform, str] = {
    Platform.IOS_SAFARI: (
        "Fluentio can't use your microphone. Tap “aA” in the address bar → Website Settings → "
        "Microphone → Allow (or open the Settings app → Safari → Microphone), reload this page, " + _AFTER
    ),
    Platform.IOS_OTHER: (
        "Fluentio can't use your microphone. Open the Settings app, find your browser (for example "
        "Chrome) and turn on Microphone; then come back, reload this page and press Start session again."
    ),
    Platform.ANDROID_CHROME: (
        "Fluentio can't use your microphone. Tap the settings icon left of the address → Permissions → "
        "Microphone → Allow. If it stays blocked, allow the microphone for Chrome in Android's Settings → "
        "Apps → Chrome → Permissions, " + _AFTER
    ),
    Platform.ANDROID_OTHER: (
        "Fluentio can't use your microphone. Allow the microphone for this site in your browser's menu "
        "(site settings or permissions), and for the browser itself in Android's Settings → Apps, " + _AFTER
    ),
    Platform.DESKTOP_CHROMIUM: (
        "Fluentio can't use your microphone. Click the site-settings icon at the left of the address bar "
        "→ Microphone → Allow, " + _AFTER
    ),
    Platform.DESKTOP_FIREFOX: (
        "Fluentio can't use your microphone. Click the crossed-out microphone in the address bar and clear "
        "“Blocked” (or Settings → Privacy & Security → Permissions → Microphone), " + _AFTER
    ),
    Platform.DESKTOP_SAFARI: (
        "Fluentio can't use your microphone. In the Safari menu choose Settings for This Website… → "
        "Microphone → Allow (on an iPad: “aA” → Website Settings → Microphone), " + _AFTER
    ),
    Platform.OTHER: (
        "Fluentio can't use your microphone. Allow microphone access for this site in your browser's "
        "site settings (often an icon in the address bar), " + _AFTER
    ),
}

INSTALL_HELP: dict[Platform, str] = {
    Platform.IOS_SAFARI: "Tap Share (the square with an arrow), then “Add to Home Screen”.",
    Platform.IOS_OTHER: (
        "Tap Share (in Chrome: the share icon in the address bar), then “Add to Home Screen”. "
        "If it isn't there, open Fluentio in Safari and add it from there."
    ),
    Platform.ANDROID_CHROME: "Tap ⋮ at the top right, then “Install app” (or “Add to Home screen”).",
    Platform.ANDROID_OTHER: (
        "Open your browser's menu and choose “Add to Home screen” or “Install”. "
        "Chrome on Android installs Fluentio as a full-screen app."
    ),
    Platform.DESKTOP_CHROMIUM: (
        "Click the install icon at the right end of the address bar, or open the browser menu and "
        "choose “Install Fluentio…” (in Edge: Apps → Install this site as an app)."
    ),
    Platform.DESKTOP_FIREFOX: (
        "Firefox on a computer can't install sites as apps: bookmark Fluentio, or install it from "
        "Chrome or Edge. On your phone, add it to the home screen."
    ),
    Platform.DESKTOP_SAFARI: (
        "In Safari 17 or later choose File → Add to Dock (on an iPad: Share → “Add to Home Screen”)."
    ),
    Platform.OTHER: (
        "On iPhone, open Fluentio in Safari, tap Share, then “Add to Home Screen”. On Android, open it "
        "in Chrome and tap ⋮ → “Install app”. On a computer, use Chrome or Edge's install icon in the "
        "address bar."
    ),
}


def microphone_help(user_agent: str) -> str:
    return MICROPHONE_HELP[platform_of(user_agent)]


def install_help(user_agent: str) -> str:
    return INSTALL_HELP[platform_of(user_agent)]


class PlatformHelpState(rx.State):
    """The install steps for the browser this page was opened in."""

    @rx.var
    def install_steps(self) -> str:
        return install_help(self.router.headers.user_agent)


def install_panel() -> rx.Component:
    """'Install Fluentio on this device', with this device's steps."""
    return rx.card(
        rx.vstack(
            rx.heading("Install Fluentio on this device", as_="h2", size="5"),
            rx.text(
                "It then opens full screen from your home screen or dock, like any other app.",
                color="var(--gray-11)",
            ),
            rx.text(PlatformHelpState.install_steps, data_testid="install-steps"),
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid="install-help",
    )
