"""A plain HTML <form> that the browser submits itself.

`rx.el.form` / `rx.form` always cancel the browser's submit and hand the fields to a
Reflex event. A form that posts to one of our HTTP routes and follows its redirect
(the Buy buttons) must work the same with and without the app's JavaScript, so it is
this element instead.
"""

from __future__ import annotations

import reflex as rx
from reflex.components.el.elements.base import BaseHTML


class NativeForm(BaseHTML):
    tag = "form"

    action: rx.Var[str]
    method: rx.Var[str]


native_form = NativeForm.create
