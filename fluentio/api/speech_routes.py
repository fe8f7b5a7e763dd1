"""`GET /api/speech/{correction_id}`: the corrected sentence, spoken ("Hear it"); and
`GET /api/speech/words/{item_id}`: a word of the learner's vocabulary deck.

Only the learner who owns the correction or word gets it (anyone else: 404, as if it did not
exist). The audio for a given (model, voice, text) never changes, so it is sent with a
year-long private, immutable cache lifetime and an ETag; the page adds the cache key to
the URL, so a change of voice gives a new URL rather than a stale cached clip.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fluentio.api.request_user import request_user
from fluentio.db import session_scope
from fluentio.feedback.speech import SpeechUnavailableError, clip_for_text, owned_correction_text
from fluentio.vocabulary.deck import owned_item_text

CACHE_CONTROL = "private, max-age=31536000, immutable"


# (session, learner id, object id) → the text to speak and its language if the object is
# the learner's, else None.
OwnedText = Callable[[Session, uuid.UUID, uuid.UUID], tuple[str, str] | None]


def _not_found() -> JSONResponse:
    return JSONResponse(
        {"error": "No such sentence. Open it again from your history."},
        status_code=404,
        headers={"Cache-Control": "no-store"},
    )


async def correction_speech(request: Request) -> Response:
    return await _owned_speech(
        request,
        "correction_id",
        lambda session, user_id, object_id: owned_correction_text(
            session=session, user_id=user_id, correction_id=object_id
        ),
    )


async def deck_item_speech(request: Request) -> Response:
    """`GET /api/speech/words/{item_id}`: a word or phrase of the learner's deck, spoken."""
    return await _owned_speech(
        request,
        "item_id",
        lambda session, user_id, object_id: owned_item_text(
            session=session, user_id=user_id, item_id=object_id
        ),
    )


async def _owned_speech(request: Request, param: str, lookup: OwnedText) -> Response:
    try:
        object_id = uuid.UUID(str(request.path_params[param]))
    except ValueError:
        return _not_found()
    user = await request_user(request)
    if user is None:
        return _not_found()

    def owned_text() -> tuple[str, str] | None:
        with session_scope() as session:
            return lookup(session, user.id, object_id)

    owned = await run_in_threadpool(owned_text)
    if owned is None:
        return _not_found()
    text, language = owned
    try:
        clip = await clip_for_text(text, language=language)
    except SpeechUnavailableError as exc:
        return JSONResponse({"error": exc.message}, status_code=503, headers={"Cache-Control": "no-store"})
    etag = f'"{clip.cache_key}"'
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag, "Vary": "Cookie"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(clip.audio, media_type=clip.content_type, headers=headers)
