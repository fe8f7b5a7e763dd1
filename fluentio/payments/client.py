"""The small interface Fluentio uses to talk to Dodo Payments, over its async SDK.

Everything the rest of the app needs from Dodo goes through `PaymentsClient`: create a
checkout session, list and fetch payments, download an invoice. Payments come back as
`ProviderPayment`, the same shape whether they were fetched from the API or delivered by
a webhook, so both paths share one piece of processing code.

The client is async (`AsyncDodoPayments`): the server runs one event loop, and the local
stand-in for Dodo lives inside the same app, so a blocking call would wait on itself.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from dodopayments import APIConnectionError, APIError, AsyncDodoPayments
from dodopayments._client import ENVIRONMENTS

from fluentio.settings import Settings, get_settings

# The key the local stand-in accepts when no DODO_PAYMENTS_API_KEY is set: random per
# process, so only the app that mounted it can list its payments or fetch invoices.
SIMULATOR_API_KEY = "dodo-fluentio-sim-" + secrets.token_urlsafe(24)


class PaymentProviderError(RuntimeError):
    """Dodo could not be reached or refused a request; the message is safe to log."""


@dataclass(frozen=True)
class CheckoutSession:
    session_id: str
    checkout_url: str


@dataclass(frozen=True)
class ProviderPayment:
    """The fields of a Dodo payment that Fluentio acts on."""

    payment_id: str
    status: str
    total_amount: int
    currency: str
    tax: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    product_cart: list[tuple[str, int]] = field(default_factory=list)
    customer_email: str = ""
    checkout_session_id: str | None = None
    invoice_url: str | None = None
    created_at: datetime | None = None


MAX_AMOUNT = 2**31 - 1  # cents
MAX_QUANTITY = 1000


def parse_payment(data: Mapping[str, Any]) -> ProviderPayment:
    """Read a payment object (webhook `data` or API response). Raises ValueError if unusable."""
    payment_id = data.get("payment_id")
    if not isinstance(payment_id, str) or not payment_id:
        raise ValueError("the payment has no payment_id")
    total = data.get("total_amount")
    if isinstance(total, bool) or not isinstance(total, int):
        raise ValueError("the payment has no integer total_amount")
    # Stored in 32-bit columns; anything outside is a forged or broken event, not a payment.
    if not 0 <= total <= MAX_AMOUNT:
        raise ValueError("the payment's total_amount is out of range")
    customer: Mapping[str, Any] = data["customer"] if isinstance(data.get("customer"), Mapping) else {}
    cart = []
    for item in data.get("product_cart") or []:
        if isinstance(item, Mapping) and isinstance(item.get("product_id"), str):
            quantity = item.get("quantity")
            if isinstance(quantity, int) and not 1 <= quantity <= MAX_QUANTITY:
                raise ValueError("a product_cart quantity is out of range")
            cart.append((item["product_id"], quantity if isinstance(quantity, int) else 1))
    metadata: Mapping[str, Any] = data["metadata"] if isinstance(data.get("metadata"), Mapping) else {}
    created = data.get("created_at")
    tax = data.get("tax")
    if isinstance(tax, int) and not 0 <= tax <= MAX_AMOUNT:
        raise ValueError("the payment's tax is out of range")
    return ProviderPayment(
        payment_id=payment_id,
        status=str(data.get("status") or ""),
        total_amount=total,
        currency=str(data.get("currency") or "").upper(),
        tax=tax if isinstance(tax, int) and not isinstance(tax, bool) else 0,
        metadata={str(k): str(v) for k, v in metadata.items()},
        product_cart=cart,
        customer_email=str(customer.get("email") or "").lower(),
        checkout_session_id=data.get("checkout_session_id") or None,
        invoice_url=data.get("invoice_url") or None,
        created_at=_parse_time(created),
    )


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def api_base_url(settings: Settings | None = None) -> str:
    """DODO_PAYMENTS_BASE_URL, else the local stand-in (no API key), else Dodo's test or live API."""
    settings = settings or get_settings()
    if settings.dodo_base_url:
        return settings.dodo_base_url
    if settings.dodo_simulated:
        return f"{settings.public_url}/sim/dodo"
    return ENVIRONMENTS[settings.dodo_environment]


def api_key(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.dodo_api_key is None:
        return SIMULATOR_API_KEY
    return settings.dodo_api_key.get_secret_value()


class PaymentsClient:
    """Dodo's API as Fluentio uses it. Pass `http_client` to route requests elsewhere (tests)."""

    def __init__(self, *, http_client: httpx.AsyncClient | None = None, settings: Settings | None = None):
        settings = settings or get_settings()
        # base_url is always explicit, so the SDK never reads DODO_PAYMENTS_BASE_URL on its own.
        self._sdk = AsyncDodoPayments(
            bearer_token=api_key(settings),
            base_url=api_base_url(settings),
            timeout=20.0,
            max_retries=2,
            http_client=http_client,
        )

    async def create_checkout(
        self,
        *,
        product_id: str,
        customer_email: str,
        customer_name: str,
        metadata: dict[str, str | float | bool],
        return_url: str,
    ) -> CheckoutSession:
        try:
            response = await self._sdk.checkout_sessions.create(
                product_cart=[{"product_id": product_id, "quantity": 1}],
                customer={"email": customer_email, "name": customer_name},
                metadata=metadata,
                return_url=return_url,
            )
        except APIError as exc:
            raise PaymentProviderError(f"Creating a Dodo checkout session failed: {_describe(exc)}") from exc
        if not response.checkout_url:
            raise PaymentProviderError("Dodo created a checkout session without a checkout URL")
        return CheckoutSession(session_id=response.session_id, checkout_url=response.checkout_url)

    async def list_payments(self, *, since: datetime, status: str = "succeeded") -> list[str]:
        """Ids of payments created since `since` with this status, newest first."""
        ids: list[str] = []
        try:
            async for item in self._sdk.payments.list(
                created_at_gte=since,
                status=status,  # type: ignore[arg-type]
                page_size=100,
            ):
                ids.append(item.payment_id)
        except APIError as exc:
            raise PaymentProviderError(f"Listing payments from Dodo failed: {_describe(exc)}") from exc
        return ids

    async def retrieve_payment(self, payment_id: str) -> ProviderPayment:
        try:
            payment = await self._sdk.payments.retrieve(payment_id)
        except APIError as exc:
            raise PaymentProviderError(
                f"Fetching Dodo payment {payment_id} failed: {_describe(exc)}"
            ) from exc
        return parse_payment(payment.model_dump(mode="json"))

    async def invoice_pdf(self, payment_id: str) -> bytes:
        try:
            response = await self._sdk.invoices.payments.retrieve(payment_id)
            return await response.read()
        except APIError as exc:
            raise PaymentProviderError(
                f"Fetching the invoice of Dodo payment {payment_id} failed: {_describe(exc)}"
            ) from exc

    async def close(self) -> None:
        await self._sdk.close()

    async def __aenter__(self) -> PaymentsClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()


def payments_client() -> PaymentsClient:
    """The client for the configured Dodo account (or the local stand-in). Use `async with`."""
    return PaymentsClient()


def _describe(exc: APIError) -> str:
    if isinstance(exc, APIConnectionError):
        return "could not connect"
    status = getattr(exc, "status_code", None)
    return f"HTTP {status}" if status else type(exc).__name__
