"""Real User-Agent headers, one per platform (and the ones easy to confuse with another),
with the platform each one names."""

from __future__ import annotations

from fluentio.components.platform_help import Platform

USER_AGENTS = {
    "iPhone Safari": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 15_8 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/15.6.6 Mobile/15E148 Safari/604.1",
        Platform.IOS_SAFARI,
    ),
    "iPhone Chrome": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
        Platform.IOS_OTHER,
    ),
    "Android Chrome": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36",
        Platform.ANDROID_CHROME,
    ),
    "Samsung Internet": (
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
        Platform.ANDROID_OTHER,
    ),
    "Android Firefox": (
        "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
        Platform.ANDROID_OTHER,
    ),
    "Windows Edge": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.68",
        Platform.DESKTOP_CHROMIUM,
    ),
    "Linux Firefox ESR": (
        "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0",
        Platform.DESKTOP_FIREFOX,
    ),
    "Mac Safari (and iPad)": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Safari/605.1.15",
        Platform.DESKTOP_SAFARI,
    ),
    "empty": ("", Platform.OTHER),
    "a bot": ("curl/8.5.0", Platform.OTHER),
}
