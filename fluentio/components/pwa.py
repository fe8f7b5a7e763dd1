"""Head tags that make Fluentio an installable app: manifest, theme colour, service worker.

The files themselves are static assets served at the site root: assets/manifest.webmanifest,
assets/sw.js (the service worker, which must sit at the root to control every page) and
assets/offline.html (what the worker shows when the network is down).
"""

import reflex as rx

THEME_COLOR = "#3e63dd"
MANIFEST_URL = "/manifest.webmanifest"
SERVICE_WORKER_URL = "/sw.js"

# Registered after `load` so the worker's precaching never competes with the page's own
# first downloads. The readyState check covers the script running after `load` has fired.
REGISTER_SERVICE_WORKER = f"""
(function () {{
  if (!('serviceWorker' in navigator)) return;
  function register() {{
    navigator.serviceWorker.register('{SERVICE_WORKER_URL}', {{ scope: '/' }}).catch(function (err) {{
      console.warn('Offline support is unavailable:', err && err.message);
    }});
  }}
  if (document.readyState === 'complete') register();
  else window.addEventListener('load', register, {{ once: true }});
}})();
"""


# `viewport-fit=cover` lets the page use a phone's whole screen; what must stay clear of
# the notch and home bar pads itself with env(safe-area-inset-*) (the call view, the
# signed-in header and footer, the connection banner, and the body's sides).
VIEWPORT = "width=device-width, initial-scale=1, viewport-fit=cover"


def pwa_head() -> list[rx.Component]:
    return [
        rx.el.meta(name="viewport", content=VIEWPORT),
        rx.el.link(rel="manifest", href=MANIFEST_URL),
        rx.el.meta(name="theme-color", content=THEME_COLOR),
        rx.el.link(rel="apple-touch-icon", href="/icons/apple-touch-icon.png"),
        rx.el.meta(name="apple-mobile-web-app-capable", content="yes"),
        rx.el.meta(name="apple-mobile-web-app-title", content="Fluentio"),
        rx.el.meta(name="mobile-web-app-capable", content="yes"),
        rx.script(REGISTER_SERVICE_WORKER),
    ]
