"""The shared page shell (header, main, footer) and the page registry.

Pages register themselves with `@page(...)`; fluentio.fluentio adds every registered
page to the app, so adding a page is one new module in fluentio/pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from fluentio.components.seo import page_meta, social_image_url
from fluentio.components.theme import ACCENT

MAX_WIDTH = "72rem"


@dataclass(frozen=True)
class PageSpec:
    route: str
    title: str
    description: str
    component: Callable[[], rx.Component]
    public: bool
    on_load: Any = None
    meta: list[Any] = field(default_factory=list)
    image: str = "/favicon.ico"


PAGES: list[PageSpec] = []


def page(
    *, route: str, title: str, description: str, public: bool = True, on_load: Any = None
) -> Callable[[Callable[[], rx.Component]], Callable[[], rx.Component]]:
    """Register a page. Public pages get SEO tags and a sitemap entry; others get neither."""

    def register(component: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
        meta = page_meta(route=route, title=title, description=description) if public else []
        image = social_image_url() if public else "/favicon.ico"
        PAGES.append(PageSpec(route, title, description, component, public, on_load, meta, image))
        return component

    return register


def nav_link(label: str, href: str) -> rx.Component:
    return rx.link(label, href=href, color="var(--gray-12)", weight="medium", size="3")


def header() -> rx.Component:
    return rx.el.header(
        rx.hstack(
            rx.link(
                rx.hstack(
                    rx.image(src="/icons/icon-192.png", alt="", width="32px", height="32px"),
                    rx.text("Fluentio", weight="bold", size="5", color="var(--gray-12)"),
                    align="center",
                    spacing="2",
                ),
                href="/",
                aria_label="Fluentio home",
                underline="none",
            ),
            rx.spacer(),
            rx.hstack(
                nav_link("Pricing", "/pricing"),
                nav_link("FAQ", "/faq"),
                nav_link("About", "/about"),
                rx.link(rx.button("Start free", size="2", color_scheme=ACCENT), href="/classroom"),
                spacing="4",
                align="center",
                wrap="wrap",
                justify="end",
            ),
            align="center",
            width="100%",
            max_width=MAX_WIDTH,
            margin_x="auto",
            padding_x="1rem",
            padding_y="0.75rem",
            wrap="wrap",
            spacing="3",
        ),
        border_bottom="1px solid var(--gray-a5)",
        background="var(--color-panel-solid)",
        position="sticky",
        top="0",
        z_index="10",
    )


def footer() -> rx.Component:
    return rx.el.footer(
        rx.vstack(
            rx.hstack(
                nav_link("Pricing", "/pricing"),
                nav_link("FAQ", "/faq"),
                nav_link("About", "/about"),
                nav_link("Log in", "/login"),
                spacing="5",
                wrap="wrap",
            ),
            rx.text(
                "Fluentio — a live voice tutor for English learners. 1 credit = 1 minute.",
                size="2",
                color="var(--gray-11)",
            ),
            spacing="3",
            width="100%",
            max_width=MAX_WIDTH,
            margin_x="auto",
            padding="2rem 1rem",
        ),
        border_top="1px solid var(--gray-a5)",
        margin_top="4rem",
    )


def shell(*children: rx.Component) -> rx.Component:
    """Header, a centred main column holding `children`, and the footer."""
    return rx.box(
        header(),
        rx.el.main(
            *children,
            width="100%",
            max_width=MAX_WIDTH,
            margin_x="auto",
            padding_x="1rem",
            id="main",
        ),
        footer(),
        min_height="100vh",
        background="var(--gray-1)",
    )


def section(*children: rx.Component, **props: Any) -> rx.Component:
    return rx.el.section(rx.vstack(*children, spacing="4", width="100%"), padding_y="2.5rem", **props)
