"""Report tables as plain data, so the xlsx and csv writers show exactly the same figures."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

# Column kinds: how a writer formats a value.
TEXT, INT, PERCENT, DATE, DATETIME = "text", "int", "percent", "date", "datetime"


@dataclass
class Column:
    header: str
    kind: str = TEXT
    width: int = 12


@dataclass
class Chart:
    """A column chart over the table's rows (`first_rows` rows, without the total row)."""

    title: str
    category_col: int
    value_cols: Sequence[int]
    first_rows: int


@dataclass
class Table:
    """One sheet of an xlsx workbook, one file of a csv zip. `rows` may be a callable streaming many rows."""

    name: str
    columns: list[Column]
    rows: list[list[Any]] | Callable[[], Iterable[Sequence[Any]]] = field(default_factory=list)
    chart: Chart | None = None
    wrap_last: bool = False  # long text in the last column (questions, paragraphs)
    stream_first: bool = False  # an xlsx writer fills this sheet first (its rows stream while others are computed)

    def iter_rows(self) -> Iterator[Sequence[Any]]:
        source = self.rows() if callable(self.rows) else self.rows
        yield from source


# Numbers people type into a question that would identify them: mobile phones and resident ID numbers.
_PERSONAL = re.compile(r"(?<!\d)(1[3-9]\d{9}|\d{17}[\dXx]|\d{15})(?!\d)")


def mask_personal(text: str) -> str:
    """Exports carry no personal identifiers: a phone or ID number typed into a question is masked."""
    return _PERSONAL.sub(lambda m: m.group(0)[:3] + "*" * (len(m.group(0)) - 3), text)
