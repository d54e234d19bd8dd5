"""Schema drift between a partition and the one before it (a WARN check, not a failure: sources evolve)."""

from dataclasses import dataclass

import pyarrow as pa


def schema_signature(schema: pa.Schema) -> dict[str, str]:
    """Column name -> Arrow type string, JSON-serialisable for the partition manifest."""
    return {field.name: str(field.type) for field in schema}


@dataclass(frozen=True)
class SchemaDrift:
    added: dict[str, str]
    removed: dict[str, str]
    retyped: dict[str, tuple[str, str]]  # name -> (previous, current)

    @property
    def drifted(self) -> bool:
        return bool(self.added or self.removed or self.retyped)

    def describe(self) -> str:
        if not self.drifted:
            return "no schema change"
        parts = []
        if self.added:
            parts.append("added " + ", ".join(f"{k} ({v})" for k, v in self.added.items()))
        if self.removed:
            parts.append("removed " + ", ".join(f"{k} ({v})" for k, v in self.removed.items()))
        if self.retyped:
            parts.append("retyped " + ", ".join(f"{k} ({a} -> {b})" for k, (a, b) in self.retyped.items()))
        return "; ".join(parts)


def compare_schemas(previous: dict[str, str], current: dict[str, str]) -> SchemaDrift:
    return SchemaDrift(
        added={k: v for k, v in current.items() if k not in previous},
        removed={k: v for k, v in previous.items() if k not in current},
        retyped={k: (previous[k], v) for k, v in current.items() if k in previous and previous[k] != v},
    )
