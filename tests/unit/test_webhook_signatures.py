"""Signature vectors for Dodo's Standard Webhooks deliveries (no database needed)."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from fluentio.payments.webhooks import SignatureError, handle_delivery, verify_signature

KEY = "whsec_" + base64.b64encode(b"fluentio-test-webhook-key-0123456789").decode()
OTHER_KEY = "whsec_" + base64.b64encode(os.urandom(32)).decode()
BODY = json.dumps({"type": "payment.succeeded", "data": {"payment_id": "pay_1", "total_amount": 500}})


def headers(
    body: str = BODY, *, key: str = KEY, at: datetime | None = None, msg_id: str = "msg_1"
) -> dict[str, str]:
    at = at or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(key).sign(msg_id, at, body),
    }


def test_the_standard_webhooks_reference_vector_signs_as_published() -> None:
    # The example in the Standard Webhooks specification's test suite.
    hook = Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    at = datetime.fromtimestamp(1614265330, tz=UTC)
    signature = hook.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", at, '{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_valid_signature_passes_and_names_the_event() -> None:
    assert verify_signature(BODY.encode(), headers(), KEY) == "msg_1"


def test_header_names_are_case_insensitive() -> None:
    upper = {k.upper(): v for k, v in headers().items()}
    assert verify_signature(BODY.encode(), upper, KEY) == "msg_1"


def test_the_wrong_secret_is_refused() -> None:
    with pytest.raises(SignatureError):
        verify_signature(BODY.encode(), headers(key=OTHER_KEY), KEY)


def test_a_tampered_body_is_refused() -> None:
    tampered = BODY.replace("500", "50000")
    with pytest.raises(SignatureError):
        verify_signature(tampered.encode(), headers(), KEY)


def test_a_tampered_event_id_is_refused() -> None:
    forged = {**headers(), "webhook-id": "msg_2"}
    with pytest.raises(SignatureError):
        verify_signature(BODY.encode(), forged, KEY)


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6), timedelta(days=-1)])
def test_stale_and_future_timestamps_are_refused(offset: timedelta) -> None:
    with pytest.raises(SignatureError, match="five minutes"):
        verify_signature(BODY.encode(), headers(at=datetime.now(UTC) + offset), KEY)


@pytest.mark.parametrize("offset", [timedelta(minutes=-4), timedelta(minutes=4)])
def test_timestamps_inside_five_minutes_pass(offset: timedelta) -> None:
    verify_signature(BODY.encode(), headers(at=datetime.now(UTC) + offset), KEY)


def test_several_signatures_pass_when_one_is_valid() -> None:
    good = headers()
    wrong = headers(key=OTHER_KEY)["webhook-signature"]
    good["webhook-signature"] = (
        f"v1,{base64.b64encode(b'x' * 32).decode()} {wrong} {good['webhook-signature']}"
    )
    assert verify_signature(BODY.encode(), good, KEY) == "msg_1"


def test_several_signatures_fail_when_none_is_valid() -> None:
    bad = headers()
    bad["webhook-signature"] = (
        f"{headers(key=OTHER_KEY)['webhook-signature']} v2,{bad['webhook-signature'][3:]}"
    )
    with pytest.raises(SignatureError):
        verify_signature(BODY.encode(), bad, KEY)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_each_missing_header_is_refused(missing: str) -> None:
    partial = {k: v for k, v in headers().items() if k != missing}
    with pytest.raises(SignatureError, match="missing"):
        verify_signature(BODY.encode(), partial, KEY)


@pytest.mark.parametrize("signature", ["v1", "garbage", "v1,not base64!!"])
def test_malformed_signature_headers_are_refused_not_crashed(signature: str) -> None:
    with pytest.raises(SignatureError):
        verify_signature(BODY.encode(), {**headers(), "webhook-signature": signature}, KEY)


def test_a_non_numeric_timestamp_is_refused() -> None:
    with pytest.raises(SignatureError):
        verify_signature(BODY.encode(), {**headers(), "webhook-timestamp": "yesterday"}, KEY)


@pytest.fixture
def webhook_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DODO_PAYMENTS_WEBHOOK_KEY", KEY)
    return KEY


def test_the_route_answers_401_without_a_valid_signature(webhook_key: str) -> None:
    assert handle_delivery(BODY.encode(), {}).status_code == 401
    assert handle_delivery(BODY.encode(), headers(key=OTHER_KEY)).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        json.dumps({"data": {}}),
        json.dumps({"type": "payment.succeeded"}),
        json.dumps({"type": "payment.succeeded", "data": {"total_amount": 500}}),
        json.dumps({"type": "refund.succeeded", "data": {"payment_id": "pay_1"}}),
    ],
)
def test_the_route_answers_400_for_a_signed_but_malformed_body(webhook_key: str, body: str) -> None:
    answer = handle_delivery(body.encode(), headers(body))
    assert answer.status_code == 400
