"""Buying a credit pack: which Dodo product sells each pack, and starting a checkout.

Credits are never granted here or on the return page: only a verified
`payment.succeeded` webhook (or the reconcile command) grants them.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from fluentio.billing.packs import CreditPack, credit_packs, find_pack
from fluentio.models import User
from fluentio.payments import client
from fluentio.settings import get_settings

logger = logging.getLogger(__name__)

RETURN_PATH = "/checkout/return"


class CheckoutProblem(StrEnum):
    NOT_ON_SALE = "not_on_sale"
    NOT_SET_UP = "not_set_up"
    PROVIDER_DOWN = "provider_down"


CHECKOUT_MESSAGES = {
    CheckoutProblem.NOT_ON_SALE: "That credit pack is no longer on sale. Pick one of the packs on the Pricing page.",
    CheckoutProblem.NOT_SET_UP: "That pack can't be bought right now because its payment product isn't set up. "
    "Please pick another pack, or try again later.",
    CheckoutProblem.PROVIDER_DOWN: "We couldn't reach our payment provider just now, so nothing was charged. "
    "Please try again in a minute.",
}


class CheckoutError(Exception):
    """A checkout could not start; `problem` names why (its message is for the learner)."""

    def __init__(self, problem: CheckoutProblem) -> None:
        super().__init__(CHECKOUT_MESSAGES[problem])
        self.problem = problem


def product_id_for(pack: CreditPack) -> str:
    """The Dodo product that sells `pack`; packs get a local product id with the stand-in."""
    if pack.dodo_product_id:
        return pack.dodo_product_id
    return f"pdt_local_{pack.id}" if get_settings().dodo_simulated else ""


def pack_for_product(product_id: str) -> CreditPack | None:
    return next((p for p in credit_packs() if product_id and product_id_for(p) == product_id), None)


async def start_checkout(*, user: User, pack_id: str) -> str:
    """Create a Dodo checkout session for `user` buying `pack_id`; returns its checkout URL."""
    pack = find_pack(pack_id)
    if pack is None:
        raise CheckoutError(CheckoutProblem.NOT_ON_SALE)
    product_id = product_id_for(pack)
    if not product_id:
        logger.error("pack %s has no dodo_product_id; set it in FLUENTIO_CREDIT_PACKS", pack.id)
        raise CheckoutError(CheckoutProblem.NOT_SET_UP)
    public_url = get_settings().public_url
    try:
        async with client.payments_client() as dodo:
            session = await dodo.create_checkout(
                product_id=product_id,
                customer_email=user.email,
                customer_name=user.display_name or user.email.split("@")[0],
                metadata={"user_id": str(user.id), "pack_id": pack.id},
                return_url=f"{public_url}{RETURN_PATH}?pack={pack.id}",
            )
    except client.PaymentProviderError as exc:
        logger.warning("checkout for user %s, pack %s failed: %s", user.id, pack.id, exc)
        raise CheckoutError(CheckoutProblem.PROVIDER_DOWN) from exc
    logger.info("checkout %s started for user %s, pack %s", session.session_id, user.id, pack.id)
    return session.checkout_url
