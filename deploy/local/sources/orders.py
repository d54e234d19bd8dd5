"""Orders and everything hanging off them (order items, payments, shipments), generated in fixed-size chunks.

A chunk is a pure function of (seed, chunk index): totals are summed from that chunk's own items, and ids
derive from the order id (item = order_id * 10 + line, payment `pay_<order_id>`), so chunks never need each
other and a million orders stream through in bounded memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from deploy.local.sources.columns import (
    MICROS,
    TimeWindow,
    earlier_micros,
    json_strings,
    money,
    padded,
    pick,
    rng_for,
    text,
    thousandths,
    timestamps,
    updated_at_micros,
    with_nulls,
)
from deploy.local.sources.vocabulary import (
    CARRIERS,
    CHANNELS,
    CITIES,
    COUPONS,
    CURRENCIES,
    FIRST_NAMES,
    LAST_NAMES,
    ORDER_NOTES,
    ORDER_STATUS_WEIGHTS,
    ORDER_STATUSES,
    PAYMENT_FAILURES,
    PAYMENT_METHODS,
    STREETS,
)

ORDERS_PER_SCALE = 10_000
ORDER_CHUNK_ROWS = 50_000
MAX_LINES_PER_ORDER = 4


@dataclass(frozen=True)
class OrderUniverse:
    """What orders refer to: how many customers exist and the product catalogue (ids, SKUs, prices)."""

    customer_count: int
    product_ids: np.ndarray
    product_skus: list[str]
    product_price_cents: np.ndarray


@dataclass(frozen=True)
class OrderChunk:
    orders: pa.Table
    order_items: pa.Table | None
    payments: pa.Table | None
    shipments: pa.Table | None


def order_chunks(total: int) -> list[tuple[int, int, int]]:
    """(chunk index, first order id, row count) covering order ids 1..total."""
    return [
        (index, first, min(ORDER_CHUNK_ROWS, total - first + 1))
        for index, first in enumerate(range(1, total + 1, ORDER_CHUNK_ROWS))
    ]


def order_chunk(
    universe: OrderUniverse,
    seed: int,
    window: TimeWindow,
    index: int,
    first_id: int,
    count: int,
    related: bool = True,
) -> OrderChunk:
    """Orders `first_id .. first_id + count - 1`; with `related=False` only the orders table is built
    (the same orders: every random draw still happens, in the same order)."""
    rng = rng_for(seed, "orders", index)
    order_ids = np.arange(first_id, first_id + count, dtype=np.int64)
    status = rng.choice(len(ORDER_STATUSES), size=count, p=ORDER_STATUS_WEIGHTS)
    updated = updated_at_micros(rng, count, window)
    created = earlier_micros(rng, updated, max_days=30, same_share=0.2)

    lines = rng.integers(1, MAX_LINES_PER_ORDER + 1, count)
    item_order = np.repeat(np.arange(count), lines)
    starts = np.concatenate([[0], np.cumsum(lines)[:-1]])
    line_number = np.arange(len(item_order)) - starts[item_order] + 1
    product = rng.integers(0, len(universe.product_ids), len(item_order))
    quantity = rng.choice(np.array([1, 1, 1, 2, 2, 3, 5]), len(item_order))
    unit_cents = universe.product_price_cents[product]
    has_discount = rng.random(len(item_order)) < 0.2
    discount_cents = np.where(
        has_discount, unit_cents * quantity * rng.integers(5, 21, len(item_order)) // 100, 0
    )
    line_cents = unit_cents * quantity - discount_cents

    subtotal = np.add.reduceat(line_cents, starts)
    has_coupon = rng.random(count) < 0.15
    coupon_cents = np.where(has_coupon, subtotal // 10, 0)
    shipping = np.where(subtotal >= 10_000, 0, rng.choice(np.array([599, 999]), count))
    tax = subtotal * 8 // 100
    total = subtotal - coupon_cents + shipping + tax

    city = rng.integers(0, len(CITIES), count)
    address = _address_json(rng, city)
    orders = pa.table(
        {
            "order_id": order_ids,
            "order_number": text("ORD-", padded(order_ids, 9)),
            "customer_id": rng.integers(1, universe.customer_count + 1, count),
            "status": pick(ORDER_STATUSES, status),
            "currency": pick(CURRENCIES, rng.integers(0, len(CURRENCIES), count)),
            "item_count": pa.array(lines, pa.int32()),
            "subtotal": money(subtotal),
            "discount_amount": money(coupon_cents, mask=~has_coupon),
            "shipping_amount": money(shipping),
            "tax_amount": money(tax),
            "total_amount": money(total),
            "coupon_code": pick(COUPONS, rng.integers(0, len(COUPONS), count), mask=~has_coupon),
            "notes": pick(
                ORDER_NOTES, rng.integers(0, len(ORDER_NOTES), count), mask=rng.random(count) < 0.75
            ),
            "shipping_address": address,
            "metadata": with_nulls(
                text(
                    '{"channel": ',
                    pick(json_strings(CHANNELS), rng.integers(0, len(CHANNELS), count)),
                    ', "items": ',
                    pa.array(lines).cast(pa.string()),
                    ', "gift": ',
                    pick(["false", "true"], (rng.random(count) < 0.1).astype(np.int64)),
                    "}",
                ),
                rng.random(count) < 0.3,
            ),
            "placed_at": timestamps(created),
            "created_at": timestamps(created),
            "updated_at": timestamps(updated),
        }
    )
    if not related:
        return OrderChunk(orders=orders, order_items=None, payments=None, shipments=None)
    order_items = pa.table(
        {
            "order_item_id": order_ids[item_order] * 10 + line_number,
            "order_id": order_ids[item_order],
            "line_number": pa.array(line_number, pa.int32()),
            "product_id": universe.product_ids[product],
            "sku": pick(universe.product_skus, product),
            "quantity": pa.array(quantity, pa.int32()),
            "unit_price": money(unit_cents),
            "discount": money(discount_cents, mask=~has_discount),
            "line_total": money(line_cents),
            "created_at": timestamps(created[item_order]),
            "updated_at": timestamps(updated[item_order]),
        }
    )
    return OrderChunk(
        orders=orders,
        order_items=order_items,
        payments=_payments(rng, window, orders, status, total),
        shipments=_shipments(rng, window, orders, status, shipping, address),
    )


def _address_json(rng: np.random.Generator, city: np.ndarray) -> pa.Array:
    count = len(city)
    first = [f'"{n[1:-1]} ' for n in json_strings([d for d, _ in FIRST_NAMES])]
    last = [f'{n[1:-1]}"' for n in json_strings([d for d, _ in LAST_NAMES])]
    return text(
        '{"recipient": ',
        pick(first, rng.integers(0, len(first), count)),
        pick(last, rng.integers(0, len(last), count)),
        ', "line1": ',
        pick(json_strings(STREETS), rng.integers(0, len(STREETS), count)),
        ', "city": ',
        pick(json_strings([c for c, _, _ in CITIES]), city),
        ', "postal_code": ',
        pick(json_strings([p for _, _, p in CITIES]), city),
        ', "country": ',
        pick(json_strings([cc for _, cc, _ in CITIES]), city),
        "}",
    )


def _payments(
    rng: np.random.Generator, window: TimeWindow, orders: pa.Table, status: np.ndarray, total: np.ndarray
) -> pa.Table:
    """One payment per order that got past `pending`; cancelled orders' payments failed."""
    keep = np.flatnonzero(status != ORDER_STATUSES.index("pending"))
    count = len(keep)
    order_ids = orders["order_id"].to_numpy()[keep]
    order_status = status[keep]
    failed = order_status == ORDER_STATUSES.index("cancelled")
    refunded = order_status == ORDER_STATUSES.index("refunded")
    pay_status = np.where(failed, 1, np.where(refunded, 2, 0))
    amount = total[keep]
    updated = updated_at_micros(rng, count, window)
    return pa.table(
        {
            "id": text("pay_", padded(order_ids, 10)),
            "order_id": order_ids,
            "status": pick(["succeeded", "failed", "refunded"], pay_status),
            "method": pick(PAYMENT_METHODS, rng.integers(0, len(PAYMENT_METHODS), count)),
            "amount": money(amount),
            "fee_amount": money(amount * 29 // 1000 + 30, mask=failed),
            "refunded_amount": money(amount, mask=~refunded),
            "currency": orders["currency"].take(pa.array(keep)),
            "provider_reference": with_nulls(text("ch_", padded(rng.integers(0, 10**12, count), 12)), failed),
            "failure_reason": pick(
                PAYMENT_FAILURES, rng.integers(0, len(PAYMENT_FAILURES), count), mask=~failed
            ),
            "created_at": timestamps(earlier_micros(rng, updated, max_days=10, same_share=0.3)),
            "updated_at": timestamps(updated),
        }
    )


def _shipments(
    rng: np.random.Generator,
    window: TimeWindow,
    orders: pa.Table,
    status: np.ndarray,
    shipping: np.ndarray,
    address: pa.Array,
) -> pa.Table:
    """A shipment for every shipped or delivered order; a few were returned or lost on the way."""
    shipped_status = (ORDER_STATUSES.index("shipped"), ORDER_STATUSES.index("delivered"))
    keep = np.flatnonzero(np.isin(status, shipped_status))
    count = len(keep)
    order_ids = orders["order_id"].to_numpy()[keep]
    delivered = status[keep] == ORDER_STATUSES.index("delivered")
    in_flight = np.where(rng.random(count) < 0.2, 0, 1)  # label_created | in_transit
    mishap = np.where(rng.random(count) < 0.5, 3, 4)  # returned | lost
    ship_status = np.where(delivered, 2, in_flight)
    ship_status = np.where(rng.random(count) < 0.03, mishap, ship_status)
    updated = updated_at_micros(rng, count, window)
    created = earlier_micros(rng, updated, max_days=12, same_share=0.1)
    shipped_at = np.minimum(created + rng.integers(3_600, 86_400, count) * MICROS, updated)
    label_only = ship_status == 0
    return pa.table(
        {
            "id": text("shp_", padded(order_ids, 10)),
            "order_id": order_ids,
            "status": pick(["label_created", "in_transit", "delivered", "returned", "lost"], ship_status),
            "carrier": pick(CARRIERS, rng.integers(0, len(CARRIERS), count)),
            "tracking_number": with_nulls(
                text("TRK", padded(rng.integers(0, 10**10, count), 10)),
                label_only & (rng.random(count) < 0.5),
            ),
            "shipping_cost": money(np.maximum(shipping[keep], 450)),
            "currency": orders["currency"].take(pa.array(keep)),
            "weight_kg": thousandths(rng.integers(50, 30_000, count)),
            "destination": with_nulls(address.take(pa.array(keep)), rng.random(count) < 0.05),
            "shipped_at": timestamps(shipped_at, mask=label_only),
            "delivered_at": timestamps(
                np.minimum(shipped_at + 3 * 86_400 * MICROS, updated), mask=ship_status != 2
            ),
            "created_at": timestamps(created),
            "updated_at": timestamps(updated),
        }
    )
