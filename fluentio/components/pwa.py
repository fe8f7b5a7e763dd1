"""Head tags that make Fluentio an installable app: manifest, theme colour, service worker."""

import reflex as rx

THEME_COLOR = "#3e63dd"

REGISTER_SERVICE_WORKER = """
if ('serviceWorker' in navigator) {
  window.addEventListener('load', function () {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(function (err) {
      console.warn('Offline support is unavailable:', err && err.message);
    });
  });
}
"""


def pwa_head() -> list[rx.Component]:
    return [
        rx.el.link(rel="manifest", href="/manifest.webmanifest"),
        rx.el.meta(name="theme-color", content=THEME_COLOR),
        rx.el.link(rel="apple-touch-icon", href="/icons/apple-touch-icon.png"),
        rx.el.meta(name="apple-mobile-web-app-capable", content="yes"),
        rx.el.meta(name="mobile-web-app-capable", content="yes"),
        rx.script(REGISTER_SERVICE_WORKER),
    ]
