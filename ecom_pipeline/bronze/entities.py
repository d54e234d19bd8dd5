"""The bronze entities as data: adding an entity to the lake is one `EntitySpec` entry in `BRONZE_ENTITIES`."""

import re
from dataclasses import dataclass
from typing import Literal

SourceSystem = Literal["rds", "api"]

_ENTITY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class EntitySpec:
    """Where one entity comes from and how its changes are windowed.

    `name` is the lake folder, the checkpoint key and the asset key suffix (`bronze_{name}`), so it must be a
    plain identifier; the source table may be named anything (it is always quoted).
    """

    name: str
    source: SourceSystem
    primary_key: tuple[str, ...]
    cursor_column: str = "updated_at"
    # The business date that picks the `event_date=` folder; None (or a NULL value) uses the cursor's date.
    event_date_column: str | None = None
    # RDS: the table in the source database. API: the endpoint name given to the source API resource.
    schema: str = "public"
    table: str | None = None
    endpoint: str | None = None
    # Asset keys of the pipelines that write this source table (lineage only, see assets/bronze/assets.py).
    written_by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _ENTITY_NAME.match(self.name):
            raise ValueError(f"entity name {self.name!r} must match {_ENTITY_NAME.pattern}")
        if not self.primary_key:
            raise ValueError(f"entity {self.name!r}: primary_key must name at least one column")
        if self.source == "api" and not self.endpoint:
            raise ValueError(f"entity {self.name!r}: an api entity needs an endpoint")

    @property
    def source_table(self) -> str:
        return self.table or self.name

    @property
    def checkpoint_key(self) -> str:
        return self.name

    @property
    def asset_name(self) -> str:
        return f"bronze_{self.name}"


BRONZE_ENTITIES: tuple[EntitySpec, ...] = (
    # Dimensions have no business date of their own: their event date is the change date (the cursor's day),
    # so a day's changes land in one folder instead of one folder per signup day.
    EntitySpec("customers", "rds", ("customer_id",)),
    EntitySpec("vendors", "rds", ("vendor_id",)),
    EntitySpec("products", "rds", ("product_id",), written_by=("validated_products",)),
    EntitySpec("orders", "rds", ("order_id",), event_date_column="placed_at"),
    EntitySpec("order_items", "rds", ("order_item_id",), event_date_column="created_at"),
    EntitySpec(
        "upload_history",
        "rds",
        ("upload_id",),
        event_date_column="upload_timestamp",
        written_by=("product_upload_records",),
    ),
    EntitySpec("metrics", "rds", ("id",), event_date_column="timestamp", written_by=("imported_metrics",)),
    EntitySpec("payments", "api", ("id",), event_date_column="created_at", endpoint="payments"),
    EntitySpec("shipments", "api", ("id",), event_date_column="created_at", endpoint="shipments"),
)
