"""One module per page; importing this package registers every page."""

from fluentio.pages import (
    about,
    account,
    app_pages,
    email_links,
    faq,
    index,
    login,
    not_found,
    pricing,
    signup,
)

__all__ = [
    "about",
    "account",
    "app_pages",
    "email_links",
    "faq",
    "index",
    "login",
    "not_found",
    "pricing",
    "signup",
]
