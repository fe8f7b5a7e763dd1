"""The public marketing pages as a crawler and a phone see them.

The HTML checks use plain HTTP (no JavaScript): whatever a search engine or a link
preview needs must already be in the prerendered production HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from xml.etree import ElementTree

import httpx
import pytest

from fluentio.billing.packs import credit_packs
from fluentio.pages.pricing import per_minute_label
from fluentio.settings import get_settings
from tests.support.app_server import RunningApp

pytestmark = pytest.mark.e2e

# route -> (the page's <h1>, a sentence from its body)
PUBLIC_PAGES = {
    "/": (
        "Speak English with a tutor who listens — and lets you interrupt.",
        "Replies arrive in under a second",
    ),
    "/pricing": ("Pay only for the minutes you talk", "1 credit = 1 minute of live conversation"),
    "/faq": ("Questions, answered", "Your audio goes from your browser directly to the AI"),
    "/about": (
        "A tutor you talk with, not voice notes you send",
        "sending voice notes back and forth with a slow robot",
    ),
}

PHONE = {"width": 390, "height": 844}


@dataclass
class ParsedPage:
    """What a crawler reads from a page: head tags, headings and the visible text."""

    title: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)
    h1: list[str] = field(default_factory=list)
    text: str = ""
    summaries: list[str] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ParsedPage()
        self._open: list[str] = []
        self._buffers: dict[str, list[str]] = {"title": [], "h1": [], "summary": []}
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "meta":
            key = values.get("name") or values.get("property")
            if key:
                self.page.meta[key] = values.get("content", "")
        elif tag == "link":
            self.page.links.append(values)
        elif tag in self._buffers:
            self._open.append(tag)
            self._buffers[tag] = []
        elif tag in ("script", "style"):
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1] != tag:
            return
        self._open.pop()
        if tag in self._buffers:
            text = " ".join("".join(self._buffers[tag]).split())
            if tag == "title":
                self.page.title = text
            elif tag == "h1":
                self.page.h1.append(text)
            else:
                self.page.summaries.append(text)

    def handle_data(self, data: str) -> None:
        if "script" in self._open or "style" in self._open:
            return
        for tag in self._open:
            if tag in self._buffers:
                self._buffers[tag].append(data)
        self._text.append(data)

    def close(self) -> None:
        super().close()
        self.page.text = " ".join(" ".join(self._text).split())


def fetch(app_server: RunningApp, path: str) -> tuple[httpx.Response, ParsedPage]:
    response = httpx.get(app_server.url(path), timeout=10)
    parser = _Parser()
    parser.feed(response.text)
    parser.close()
    return response, parser.page


def canonical_url(app_server: RunningApp, route: str) -> str:
    return app_server.base_url + route


@pytest.mark.parametrize("route", list(PUBLIC_PAGES))
def test_prerendered_html_has_everything_a_crawler_needs(app_server: RunningApp, route: str) -> None:
    heading, body_text = PUBLIC_PAGES[route]
    response, page = fetch(app_server, route)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert page.title and "Fluentio" in page.title

    description = page.meta.get("description", "")
    assert len(description) >= 50, description

    canonicals = [link["href"] for link in page.links if link.get("rel") == "canonical"]
    assert canonicals == [canonical_url(app_server, route)]

    assert page.meta["og:title"] == page.title
    assert page.meta["og:description"] == description
    assert page.meta["og:url"] == canonical_url(app_server, route)
    assert page.meta["og:image"] == app_server.url("/icons/social-card.png")
    assert page.meta["twitter:card"] == "summary_large_image"
    assert page.meta["twitter:title"] == page.title
    assert page.meta["twitter:description"] == description
    assert page.meta["twitter:image"] == page.meta["og:image"]

    assert page.h1 == [heading], "each page has exactly one <h1>, with its heading"
    assert body_text in page.text


def test_social_card_image_is_served(app_server: RunningApp) -> None:
    response = httpx.get(app_server.url("/icons/social-card.png"), timeout=10)
    assert response.status_code == 200
    assert response.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_titles_and_descriptions_are_unique(app_server: RunningApp) -> None:
    pages = [fetch(app_server, route)[1] for route in PUBLIC_PAGES]
    titles = [p.title for p in pages]
    descriptions = [p.meta["description"] for p in pages]
    assert len(set(titles)) == len(PUBLIC_PAGES), titles
    assert len(set(descriptions)) == len(PUBLIC_PAGES), descriptions


def test_sitemap_lists_exactly_the_public_pages(app_server: RunningApp) -> None:
    response = httpx.get(app_server.url("/sitemap.xml"), timeout=10)
    assert response.status_code == 200
    namespace = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locations = [
        loc.text for loc in ElementTree.fromstring(response.content).findall("s:url/s:loc", namespace)
    ]
    assert sorted(locations) == sorted(canonical_url(app_server, route) for route in PUBLIC_PAGES)


def test_robots_txt_allows_the_site_and_points_to_the_sitemap(app_server: RunningApp) -> None:
    response = httpx.get(app_server.url("/robots.txt"), timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert "User-agent: *" in lines
    for path in ("/api/", "/classroom", "/history", "/account", "/admin"):
        assert f"Disallow: {path}" in lines
    assert not any(line.strip() in ("Disallow: /", "Disallow: /*") for line in lines)
    assert f"Sitemap: {app_server.url('/sitemap.xml')}" in lines


def test_pricing_shows_every_pack_and_the_free_credits(app_server: RunningApp) -> None:
    response, page = fetch(app_server, "/pricing")
    packs = credit_packs()
    assert packs
    for pack in packs:
        assert pack.name in page.text
        assert pack.price_label in page.text
        assert f"{pack.credits} credits · {per_minute_label(pack)} per minute" in page.text
        assert f"Buy {pack.name}" in page.text
    free = get_settings().signup_credits
    assert f"{free} credits on sign-up" in page.text
    # Every Buy button is a plain form (no app JavaScript on this page) posting its pack;
    # a visitor's post leads to sign-up, and back here afterwards.
    posted = re.findall(
        r'<form[^>]*action="/api/checkout"[^>]*>\s*<input[^>]*name="pack"[^>]*value="([^"]+)"', response.text
    )
    assert sorted(posted) == sorted(pack.id for pack in packs)
    visitor = httpx.post(app_server.url("/api/checkout"), data={"pack": packs[0].id})
    assert visitor.status_code == 303
    assert visitor.headers["location"] == "/signup?next=%2Fpricing"


def test_faq_answers_are_in_the_html(app_server: RunningApp) -> None:
    _, page = fetch(app_server, "/faq")
    assert len(page.summaries) >= 8, page.summaries
    for question in (
        "How do credits work?",
        "What counts as a minute?",
        "Can I interrupt the tutor?",
        "Where does my voice go? What do you store?",
        "Which levels do you support?",
        "Can I install Fluentio on my phone?",
        "Can I get a refund?",
        "Can I delete my account?",
    ):
        assert question in page.summaries
    # Answers are in the prerendered HTML, not only after a click.
    assert "counted by the second" in page.text
    assert "We store the text transcript" in page.text
    assert "Add to Home Screen" in page.text


def test_unknown_page_is_a_real_404(app_server: RunningApp, page: object) -> None:
    response = httpx.get(app_server.url("/no-such-page"), timeout=10)
    assert response.status_code == 404

    page.goto(app_server.url("/no-such-page"))  # type: ignore[attr-defined]
    heading = page.get_by_role("heading", level=1)  # type: ignore[attr-defined]
    heading.wait_for()
    assert heading.inner_text() == "Page not found"
    assert page.get_by_role("link", name="Go to the home page").is_visible()  # type: ignore[attr-defined]


@pytest.fixture
def phone(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # type: ignore[attr-defined]
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("route", list(PUBLIC_PAGES))
def test_phone_layout_does_not_scroll_sideways(app_server: RunningApp, phone: object, route: str) -> None:
    phone.goto(app_server.url(route), wait_until="networkidle")  # type: ignore[attr-defined]
    scroll_width, inner_width = phone.evaluate(  # type: ignore[attr-defined]
        "[document.scrollingElement.scrollWidth, window.innerWidth]"
    )
    assert inner_width == PHONE["width"]
    assert scroll_width <= inner_width
    assert phone.get_by_role("heading", level=1).is_visible()  # type: ignore[attr-defined]


def test_phone_nav_links_are_visible_and_work(app_server: RunningApp, phone: object) -> None:
    phone.goto(app_server.url("/"), wait_until="networkidle")  # type: ignore[attr-defined]
    nav = phone.get_by_role("navigation", name="Main")  # type: ignore[attr-defined]
    for label, path, heading in (
        ("Pricing", "/pricing", PUBLIC_PAGES["/pricing"][0]),
        ("FAQ", "/faq", PUBLIC_PAGES["/faq"][0]),
        ("About", "/about", PUBLIC_PAGES["/about"][0]),
    ):
        link = nav.get_by_role("link", name=label, exact=True)
        assert link.is_visible()
        box = link.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], "link is on screen"
        assert box["height"] >= 40, "link is big enough to tap"
        link.tap()
        phone.wait_for_url(app_server.url(path))  # type: ignore[attr-defined]
        phone.get_by_role("heading", level=1, name=heading).wait_for()  # type: ignore[attr-defined]

    # The sign-up call to action stays on screen beside the logo.
    start = phone.get_by_role("link", name="Start free", exact=True)  # type: ignore[attr-defined]
    assert start.is_visible()
    assert start.get_attribute("href") == "/signup"
