"""The shared page shell (header, main, footer) and the page registry.

Pages register themselves with `@page(...)`; fluentio.fluentio adds every registered
page to the app, so adding a page is one new module in fluentio/pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from fluentio.auth.state import AuthState
from fluentio.components.auth_switch import auth_switch
from fluentio.components.seo import page_meta, social_image_url
from fluentio.components.theme import ACCENT
from fluentio.settings import get_settings

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
    """Register a page. Public pages get SEO tags and a sitemap entry; others get neither.

    Without an `on_load`, the page asks the server who is signed in, for the header.
    """

    def register(component: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
        meta = page_meta(route=route, title=title, description=description) if public else []
        image = social_image_url() if public else "/favicon.ico"
        load = on_load if on_load is not None else AuthState.refresh
        PAGES.append(PageSpec(route, title, description, component, public, load, meta, image))
        return component

    return register


NAV_LINKS = [("Pricing", "/pricing"), ("FAQ", "/faq"), ("About", "/about")]

# Radix "size 3" text is 16px; vertical padding makes each link a finger-sized (>= 44px)
# target on phones without moving it sideways out of line with the text around it.
TAP_PADDING = "0.625rem 0"


def nav_link(label: str, href: str, padding: str = TAP_PADDING) -> rx.Component:
    return rx.link(
        label,
        href=href,
        color="var(--gray-12)",
        weight="medium",
        size="3",
        padding=padding,
        underline="hover",
    )


def logo(href: str = "/") -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.image(src="/icons/icon-192.png", alt="", width="32px", height="32px"),
            rx.text("Fluentio", weight="bold", size="5", color="var(--gray-12)"),
            align="center",
            spacing="2",
        ),
        href=href,
        aria_label="Fluentio home" if href == "/" else "Fluentio: your classroom",
        underline="none",
    )


def skip_link() -> rx.Component:
    """Keyboard users jump past the header; it stays off-screen until it has focus."""
    return rx.link(
        "Skip to content",
        href="#main",
        position="absolute",
        left="-9999px",
        top="0.5rem",
        z_index="20",
        padding="0.5rem 1rem",
        background="var(--color-panel-solid)",
        border_radius="var(--radius-3)",
        _focus={"left": "1rem"},
    )


def header() -> rx.Component:
    """Logo and the two calls to action on one row; the page links share it on wide
    screens and wrap onto a second, full-width row on phones (no hidden menu to find)."""
    return _header_bar(
        logo(),
        _nav_row(
            *[nav_link(label, href) for label, href in NAV_LINKS],
            gap=rx.breakpoints(initial="1.5rem", sm="1.25rem"),
        ),
        _header_actions(
            auth_switch(
                rx.fragment(
                    nav_link("Words", "/words"),
                    nav_link("Account", "/account"),
                    rx.link(rx.button("Classroom", size="2", color_scheme=ACCENT), href="/classroom"),
                ),
                rx.fragment(
                    nav_link("Log in", "/login"),
                    rx.link(rx.button("Start free", size="2", color_scheme=ACCENT), href="/signup"),
                ),
            ),
            spacing="4",
        ),
        padding_top="0.5rem",
    )


def _header_bar(
    logo_link: rx.Component,
    nav: rx.Component,
    actions: rx.Component,
    *,
    padding_top: Any,
    **props: Any,
) -> rx.Component:
    """The sticky bar both headers share: logo, the main links, the actions at the right."""
    return rx.el.header(
        skip_link(),
        rx.el.div(
            logo_link,
            nav,
            actions,
            display="flex",
            flex_wrap="wrap",
            align_items="center",
            column_gap="0.75rem",
            width="100%",
            max_width=MAX_WIDTH,
            margin_x="auto",
            padding_x="1rem",
            padding_top=padding_top,
            padding_bottom=rx.breakpoints(initial="0", sm="0.5rem"),
        ),
        border_bottom="1px solid var(--gray-a5)",
        background="var(--color-panel-solid)",
        position="sticky",
        top="0",
        z_index="10",
        **props,
    )


def _nav_row(*links: rx.Component, **props: Any) -> rx.Component:
    """The main links: beside the logo on wide screens, their own full-width row on phones."""
    return rx.el.nav(
        *links,
        aria_label="Main",
        display="flex",
        order=rx.breakpoints(initial="3", sm="2"),
        width=rx.breakpoints(initial="100%", sm="auto"),
        margin_left=rx.breakpoints(initial="0", sm="1.5rem"),
        border_top=rx.breakpoints(initial="1px solid var(--gray-a4)", sm="none"),
        **props,
    )


def _header_actions(*children: rx.Component, spacing: str) -> rx.Component:
    return rx.hstack(*children, spacing=spacing, align="center", margin_left="auto", order="2")


def footer_column(title: str, links: list[tuple[str, str]]) -> rx.Component:
    return rx.vstack(
        rx.heading(title, as_="h2", size="2", color="var(--gray-11)", weight="medium"),
        *[nav_link(label, href, padding="0.375rem 0") for label, href in links],
        spacing="0",
        align="start",
    )


def _footer(*columns: rx.Component, padding: str, margin_top: str, **props: Any) -> rx.Component:
    """The footer band: three columns on wider screens, stacked on phones."""
    return rx.el.footer(
        rx.grid(
            *columns,
            columns=rx.breakpoints(initial="1", sm="3"),
            spacing="6",
            width="100%",
            max_width=MAX_WIDTH,
            margin_x="auto",
            padding=padding,
        ),
        border_top="1px solid var(--gray-a5)",
        background="var(--color-panel-solid)",
        margin_top=margin_top,
        **props,
    )


def footer() -> rx.Component:
    return _footer(
        rx.vstack(
            logo(),
            rx.text(
                "A live voice tutor for English learners. Talk, interrupt, get feedback. "
                "1 credit = 1 minute.",
                size="2",
                color="var(--gray-11)",
                max_width="22rem",
            ),
            spacing="3",
        ),
        footer_column("Fluentio", [*NAV_LINKS]),
        auth_switch(
            footer_column(
                "Your account",
                [("Classroom", "/classroom"), ("History", "/history"), ("Account", "/account")],
            ),
            footer_column("Your account", [("Sign up free", "/signup"), ("Log in", "/login")]),
        ),
        padding="2.5rem 1rem 3rem",
        margin_top="4rem",
    )


def _frame(top: rx.Component, bottom: rx.Component, children: tuple[rx.Component, ...]) -> rx.Component:
    return rx.box(
        top,
        rx.el.main(
            *children,
            width="100%",
            max_width=MAX_WIDTH,
            margin_x="auto",
            padding_x="1rem",
            id="main",
        ),
        bottom,
        min_height="100vh",
        background="var(--gray-1)",
    )


def shell(*children: rx.Component) -> rx.Component:
    """Header, a centred main column holding `children`, and the footer."""
    return _frame(header(), footer(), children)


# The signed-in app's own navigation; Admin is added for admins.
APP_LINKS = [
    ("Classroom", "/classroom"),
    ("History", "/history"),
    ("Words", "/words"),
    ("Account", "/account"),
]
ADMIN_LINK = ("Admin", "/admin")


def app_nav_link(label: str, href: str) -> rx.Component:
    """A link of the app's navigation, marked as the current page on its own section
    (so /history/<id> keeps History marked)."""
    path = rx.State.router.url.path
    current = (path == href) | path.startswith(href + "/")
    return rx.link(
        label,
        href=href,
        aria_current=rx.cond(current, "page", "false"),
        color=rx.cond(current, f"var(--{ACCENT}-11)", "var(--gray-12)"),
        weight=rx.cond(current, "bold", "medium"),
        size="3",
        padding=TAP_PADDING,
        underline="hover",
        white_space="nowrap",
    )


def app_nav_links() -> list[rx.Component]:
    return [
        *[app_nav_link(label, href) for label, href in APP_LINKS],
        rx.cond(AuthState.is_admin, app_nav_link(*ADMIN_LINK)),
    ]


def log_out_button(**props: Any) -> rx.Component:
    return rx.button("Log out", variant="outline", size="2", on_click=AuthState.log_out(False), **props)


def app_header() -> rx.Component:
    """The signed-in header: the app's sections and Log out. Like the public header, the
    links wrap onto their own full-width row on phones instead of hiding in a menu."""
    return _header_bar(
        logo("/classroom"),
        _nav_row(
            *app_nav_links(),
            # Five sections for an admin: on a narrow phone they wrap rather than scroll.
            flex_wrap="wrap",
            column_gap=rx.breakpoints(initial="1rem", sm="1.25rem"),
        ),
        _header_actions(
            rx.text(
                AuthState.user_name,
                size="2",
                color="var(--gray-11)",
                display=rx.breakpoints(initial="none", md="block"),
                max_width="14rem",
                overflow="hidden",
                text_overflow="ellipsis",
                white_space="nowrap",
                data_testid="signed-in-as",
            ),
            log_out_button(),
            spacing="3",
        ),
        padding_top=rx.breakpoints(initial="max(0.5rem, env(safe-area-inset-top))", sm="0.5rem"),
        data_testid="app-header",
    )


def app_footer() -> rx.Component:
    return _footer(
        rx.vstack(
            logo(),
            rx.text(
                "Signed in as ",
                rx.text.strong(AuthState.user_email),
                size="2",
                color="var(--gray-11)",
                overflow_wrap="anywhere",
            ),
            log_out_button(),
            spacing="3",
            align="start",
        ),
        rx.vstack(
            rx.heading("Practise", as_="h2", size="2", color="var(--gray-11)", weight="medium"),
            *[nav_link(label, href, padding="0.375rem 0") for label, href in APP_LINKS],
            rx.cond(AuthState.is_admin, nav_link(*ADMIN_LINK, padding="0.375rem 0")),
            spacing="0",
            align="start",
        ),
        footer_column("Fluentio", [*NAV_LINKS]),
        padding="2rem 1rem calc(2.5rem + env(safe-area-inset-bottom))",
        margin_top="3rem",
        data_testid="app-footer",
    )


def app_shell(*children: rx.Component) -> rx.Component:
    """The shell of pages for signed-in users: the app's header and footer around `children`."""
    return _frame(app_header(), app_footer(), children)


def section(*children: rx.Component, **props: Any) -> rx.Component:
    return rx.el.section(
        rx.vstack(*children, spacing="4", width="100%"),
        padding_y=rx.breakpoints(initial="2rem", md="3rem"),
        **props,
    )


def page_intro(eyebrow: str, title: str, lead: str) -> rx.Component:
    """The top of an inner page: a small label, the page's one <h1>, and a lead paragraph."""
    return rx.el.section(
        rx.vstack(
            rx.text(eyebrow, size="2", weight="bold", color=f"var(--{ACCENT}-11)", trim="both"),
            rx.heading(title, as_="h1", size=rx.breakpoints(initial="8", md="9"), line_height="1.1"),
            rx.text(
                lead, size=rx.breakpoints(initial="4", md="5"), color="var(--gray-11)", max_width="44rem"
            ),
            spacing="4",
            align="start",
        ),
        padding_top=rx.breakpoints(initial="2.5rem", md="4.5rem"),
        padding_bottom="1rem",
    )


def free_credits() -> int:
    """Credits every new account gets; read when pages are built, so copy follows the setting."""
    return get_settings().signup_credits
