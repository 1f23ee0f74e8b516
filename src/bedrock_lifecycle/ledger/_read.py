"""Reading the shadow records out of a ledger file, whatever its format."""

from __future__ import annotations

import os
from pathlib import Path
from typing import cast

from .._shadow_record import ShadowRecord

__all__ = ["read_shadow_records"]

_SQLITE_HEADER = b"SQLite format 3\x00"


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
    except (FileNotFoundError, IsADirectoryError):
        return False


def read_shadow_records(path: str | os.PathLike[str]) -> list[ShadowRecord]:
    """Every shadow record in a ledger file, oldest first; its usage records are left out.

    ``path`` is a :class:`JsonlLedger` file (its rotated files ``path.N`` are read too, oldest
    first) or a :class:`SqliteLedger` file (told apart by its content, not its name). A file
    that does not exist holds none. Raises ``ValueError`` naming the file and the line (or row)
    when a shadow record in it cannot be read, or when an SQLite file is not a ledger.
    """
    file = Path(path).expanduser()
    if _is_sqlite(file):
        import sqlite3

        from ._sqlite import read_sqlite

        try:
            found = read_sqlite(file, usage=False)
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{file}: not a bedrock-lifecycle SQLite ledger ({exc})") from None
        return cast("list[ShadowRecord]", found)
    from ._jsonl import read_jsonl_shadow

    return read_jsonl_shadow(file)
