"""Check Realtime events against the openai SDK's own types.

The simulator and the code that talks to it must both speak OpenAI's real protocol, so
the reference is the SDK: `RealtimeServerEvent` for what the server sends and
`RealtimeClientEvent` for what a client sends. The SDK models accept unknown keys, so on
top of pydantic's validation (required fields, literals, types) these helpers report any
key the SDK does not know: a misspelt field would otherwise pass silently.
"""

from __future__ import annotations

from typing import Any, get_args

from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
from pydantic import BaseModel, ValidationError


def _by_type(union: object) -> dict[str, type[BaseModel]]:
    """Map each member's `type` literal to its model (the SDK's unions are Annotated)."""
    members = get_args(get_args(union)[0])
    return {get_args(m.model_fields["type"].annotation)[0]: m for m in members}


_SERVER_EVENTS = _by_type(RealtimeServerEvent)
_CLIENT_EVENTS = _by_type(RealtimeClientEvent)

# Keys the real API sends that the SDK's session models do not declare (session.created
# and session.updated carry the session's id, object and expiry, as the real API does).
_KNOWN_UNDECLARED: dict[str, frozenset[str]] = {
    "session": frozenset({"id", "object", "expires_at"}),
}


class InvalidEventError(ValueError):
    """An event that does not match the SDK's types; the message says where."""


def _unknown_keys(model: BaseModel, path: str) -> list[str]:
    problems: list[str] = []
    allowed = _KNOWN_UNDECLARED.get(path.rsplit(".", 1)[-1], frozenset())
    for key in model.model_extra or {}:
        if key not in allowed:
            problems.append(f"{path}.{key}" if path else key)
    for name in type(model).model_fields:
        problems.extend(_unknown_in(getattr(model, name), f"{path}.{name}" if path else name))
    return problems


def _unknown_in(value: object, path: str) -> list[str]:
    if isinstance(value, BaseModel):
        return _unknown_keys(value, path)
    if isinstance(value, list):
        found: list[str] = []
        for index, element in enumerate(value):
            found.extend(_unknown_in(element, f"{path}[{index}]"))
        return found
    return []


def _validate(models: dict[str, type[BaseModel]], event: object, what: str) -> BaseModel:
    if not isinstance(event, dict):
        raise InvalidEventError(f"{what} must be a JSON object, got {type(event).__name__}")
    kind = event.get("type")
    model_class = models.get(kind) if isinstance(kind, str) else None
    if model_class is None:
        raise InvalidEventError(f"invalid {what}: unknown type {kind!r}")
    try:
        model = model_class.model_validate(event)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(event)'}: {e['msg']}" for e in exc.errors()[:6]
        )
        raise InvalidEventError(f"invalid {what} {kind!r}: {details}") from None
    unknown = _unknown_keys(model, "")
    if unknown:
        raise InvalidEventError(f"invalid {what} {kind!r}: unknown keys {', '.join(unknown)}")
    return model


def validate_server_event(event: dict[str, Any]) -> BaseModel:
    """Validate one server event; raises InvalidEventError saying what is wrong."""
    return _validate(_SERVER_EVENTS, event, "server event")


def validate_client_event(event: dict[str, Any]) -> BaseModel:
    """Validate one client event; raises InvalidEventError saying what is wrong."""
    return _validate(_CLIENT_EVENTS, event, "client event")
