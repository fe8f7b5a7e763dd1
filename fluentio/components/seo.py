"""Per-page search and social metadata: canonical link, Open Graph and Twitter tags."""

from __future__ import annotations

from typing import Any

import reflex as rx

from fluentio.settings import get_settings

SITE_NAME = "Fluentio"
SOCIAL_IMAGE = "/icons/social-card.png"


def social_image_url() -> str:
    """Absolute URL of the social card; Reflex emits it as the page's og:image."""
    return get_settings().public_url + SOCIAL_IMAGE


def page_meta(*, route: str, title: str, description: str) -> list[Any]:
    """Head tags that, with Reflex's own <title>, description and og:image, describe a page."""
    base = get_settings().public_url
    url = base + ("/" if route in ("", "/", "index") else "/" + route.strip("/"))
    image = social_image_url()
    return [
        rx.el.link(rel="canonical", href=url),
        {"property": "og:type", "content": "website"},
        {"property": "og:site_name", "content": SITE_NAME},
        {"property": "og:title", "content": title},
        {"property": "og:description", "content": description},
        {"property": "og:url", "content": url},
        {"property": "og:image:alt", "content": "Fluentio: speak English with a live AI tutor"},
        {"name": "twitter:card", "content": "summary_large_image"},
        {"name": "twitter:title", "content": title},
        {"name": "twitter:description", "content": description},
        {"name": "twitter:image", "content": image},
    ]
