"""The credit packs on sale. Configurable with FLUENTIO_CREDIT_PACKS (a JSON list)."""

from __future__ import annotations

import json

from pydantic import BaseModel, Field, TypeAdapter

from fluentio.settings import get_settings


class CreditPack(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_-]{1,50}$")
    name: str
    credits: int = Field(gt=0)
    price_cents: int = Field(gt=0)
    currency: str = "USD"
    dodo_product_id: str = ""

    @property
    def price_label(self) -> str:
        symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(self.currency, self.currency + " ")
        return f"{symbol}{self.price_cents // 100}.{self.price_cents % 100:02d}"

    @property
    def cents_per_minute(self) -> float:
        return self.price_cents / self.credits


DEFAULT_PACKS = [
    CreditPack(id="starter", name="Starter", credits=60, price_cents=500),
    CreditPack(id="regular", name="Regular", credits=300, price_cents=2000),
    CreditPack(id="intensive", name="Intensive", credits=900, price_cents=5000),
]

_packs_adapter = TypeAdapter(list[CreditPack])


def credit_packs() -> list[CreditPack]:
    raw = get_settings().credit_packs_json
    if not raw.strip():
        return list(DEFAULT_PACKS)
    return _packs_adapter.validate_python(json.loads(raw))


def find_pack(pack_id: str) -> CreditPack | None:
    return next((p for p in credit_packs() if p.id == pack_id), None)
