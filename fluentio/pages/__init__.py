"""One module per page; importing this package registers every page."""

from fluentio.pages import index, not_found

__all__ = ["index", "not_found"]
