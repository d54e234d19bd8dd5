"""The product catalogue shared by the seeded `products` table and the sample vendor CSVs.

A product is a pure function of (seed, vendor, number), so a vendor CSV re-uploads the very SKUs the
database already holds (exercising the validator's upsert on (vendor_id, sku)) and extends them with new ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from deploy.local.sources.vocabulary import (
    CATALOG,
    PRODUCT_ADJECTIVES,
    PRODUCT_DESCRIPTIONS,
    VENDOR_NAMES,
)

# Vendor numbers never handed out to active vendors: 98 and 99 are the suspended and inactive vendors every
# seed contains, 404 is the vendor the demo's "unknown vendor" upload names.
SUSPENDED_VENDOR = "VEND098"
INACTIVE_VENDOR = "VEND099"
UNKNOWN_VENDOR = "VEND404"
_RESERVED_NUMBERS = frozenset({98, 99, 404})
ACTIVE_VENDORS_PER_SCALE = 10
PRODUCTS_PER_VENDOR = 50


def vendor_id(number: int) -> str:
    return f"VEND{number:03d}"


def active_vendor_ids(count: int) -> list[str]:
    """The first `count` active vendor ids: VEND001, VEND002, ... skipping the reserved numbers."""
    ids: list[str] = []
    number = 0
    while len(ids) < count:
        number += 1
        if number not in _RESERVED_NUMBERS:
            ids.append(vendor_id(number))
    return ids


def vendor_number(vendor: str) -> int:
    digits = vendor.removeprefix("VEND")
    return int(digits) if digits.isdigit() else sum(vendor.encode())


def brand_of(vendor: str) -> str:
    return VENDOR_NAMES[vendor_number(vendor) % len(VENDOR_NAMES)]


@dataclass(frozen=True)
class Product:
    """One catalogue entry, in the vocabulary of seed 003's CSV columns."""

    vendor_id: str
    vendor_product_id: str
    product_name: str
    category: str
    subcategory: str
    description: str
    sku: str
    brand: str
    price_cents: int
    compare_at_cents: int | None
    stock_quantity: int
    unit: str
    weight_grams: int
    dimensions_cm: str
    image_url: str


def catalog_product(vendor: str, number: int, seed: int = 0) -> Product:
    """Product `number` (1-based) of `vendor`; identical for identical arguments, independent of others."""
    rnd = random.Random(f"catalog/{seed}/{vendor}/{number}")
    category, subcategory, prefix, unit, noun, (low, high) = CATALOG[
        (vendor_number(vendor) * 3 + number) % len(CATALOG)
    ]
    price = rnd.randrange(low, high) // 100 * 100 + rnd.choice((99, 49, 0, 95))
    compare_at = price + rnd.randrange(100, max(200, price // 3)) if rnd.random() < 0.35 else None
    dims = f"{rnd.randint(2, 60)}x{rnd.randint(2, 40)}x{rnd.randint(1, 30)}"
    slug = noun.lower().replace(" ", "-")
    return Product(
        vendor_id=vendor,
        vendor_product_id=f"PROD{number:04d}",
        product_name=f"{noun} - {rnd.choice(PRODUCT_ADJECTIVES)} {rnd.randint(100, 999)}",
        category=category,
        subcategory=subcategory,
        description=rnd.choice(PRODUCT_DESCRIPTIONS),
        sku=f"{prefix}-{vendor}-{number:04d}",
        brand=brand_of(vendor),
        price_cents=price,
        compare_at_cents=compare_at,
        stock_quantity=rnd.choice((0, rnd.randint(1, 20), rnd.randint(20, 500))),
        unit=unit,
        weight_grams=rnd.randint(20, 15_000),
        dimensions_cm=dims,
        image_url=f"https://images.example.com/{vendor.lower()}/{slug}-{number:04d}.jpg",
    )


def cents_text(cents: int) -> str:
    """Integer cents as a decimal string: 1999 -> '19.99', -500 -> '-5.00'."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def grams_text(grams: int) -> str:
    """Grams as kilograms with three decimals: 250 -> '0.250'."""
    return f"{grams // 1000}.{grams % 1000:03d}"
