"""Pure pieces of the public-page path and the chart labels."""

from __future__ import annotations

from datetime import UTC, datetime

from fluentio.api.cache_control import IMMUTABLE, REVALIDATE, cache_control_for
from fluentio.feedback.history import point_labels
from fluentio.public_pages.purge import _disguise, _restore
from fluentio.public_pages.render import SIGNED_IN_CSS, for_visitor, without_app

PRERENDERED = (
    '<html><head><link rel="modulepreload" href="/assets/root-Ab12Cd34.js"/>'
    '<link as="style" href="/assets/app-Xy12Zz99.css" rel="preload"/>'
    '<link href="/assets/app-Xy12Zz99.css" rel="stylesheet" type="text/css"/></head>'
    "<body><p>Hi</p><script>window.__reactRouterContext = {}</script>"
    '<script type="module" async="">import "/assets/x.js";</script></body></html>'
)


def test_same_day_points_get_their_time_and_other_days_stay_short() -> None:
    moments = [
        datetime(2026, 11, 29, 9, 15, tzinfo=UTC),
        datetime(2026, 11, 29, 18, 40, tzinfo=UTC),
        datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
    ]
    assert point_labels(moments) == ["29 Nov 09:15", "29 Nov 18:40", "30 Nov"]


def test_hashed_assets_are_immutable_and_pages_revalidate() -> None:
    assert cache_control_for("/assets/_index-DqQ7eVAK.js", 200, "text/javascript") == IMMUTABLE
    assert cache_control_for("/assets/__reflex_global_styles-NccINl-w.css", 200, "text/css") == IMMUTABLE
    assert cache_control_for("/pricing", 200, "text/html; charset=utf-8") == REVALIDATE
    assert cache_control_for("/sw.js", 200, "text/javascript") == REVALIDATE
    assert cache_control_for("/assets/_index-DqQ7eVAK.js", 404, "text/html") is None
    assert cache_control_for("/api/thing", 200, "application/json") is None


def test_the_lean_page_has_no_app_scripts_and_inlines_its_css() -> None:
    lean = without_app(PRERENDERED, css=".a{color:red}</style>")
    assert "modulepreload" not in lean and "__reactRouterContext" not in lean and 'type="module"' not in lean
    assert 'rel="stylesheet"' not in lean and 'as="style"' not in lean
    assert "<style>.a{color:red}<\\/style></style>" in lean
    assert lean.count("<script>") == 1 and "serviceWorker" in lean
    kept = without_app(PRERENDERED, css=None)
    assert 'rel="stylesheet"' in kept and "modulepreload" not in kept


def test_only_a_signed_in_visitor_gets_the_signed_in_rule() -> None:
    lean = without_app(PRERENDERED, css="")
    assert SIGNED_IN_CSS not in for_visitor(lean, signed_in=False)
    assert f"<style>{SIGNED_IN_CSS}</style></head>" in for_visitor(lean, signed_in=True)


def test_pseudo_where_groups_survive_the_purge_round_trip() -> None:
    css = ".rt-Button:where(.rt-r-size-2):where(:not(.rt-variant-ghost)){height:1px}.l:where(:any-link,button){x:y}"
    disguised, originals = _disguise(css)
    assert ":where(:" not in disguised and ".fl-w0" in disguised and ".fl-w1" in disguised
    assert _restore(disguised, originals) == css
