"""The visual theme, shared by rxconfig (Radix plugin) and components."""

import reflex as rx

ACCENT = "indigo"

THEME = rx.theme(appearance="light", accent_color=ACCENT, gray_color="slate", radius="large")
