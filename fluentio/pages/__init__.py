"""One module per page; importing this package registers every page."""

from fluentio.pages import (
    about,
    account,
    admin,
    checkout_return,
    classroom,
    email_links,
    faq,
    history,
    history_detail,
    index,
    login,
    not_found,
    pricing,
    signup,
    words,
)

__all__ = [
    "about",
    "account",
    "admin",
    "checkout_return",
    "classroom",
    "email_links",
    "faq",
    "history",
    "history_detail",
    "index",
    "login",
    "not_found",
    "pricing",
    "signup",
    "words",
]
