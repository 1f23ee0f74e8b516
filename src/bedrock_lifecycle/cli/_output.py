"""Writing what the commands produce: tables, JSON, coloured state labels, one-line notes.

Tables go through ``rich`` when it is installed (the ``cli`` extra) and the stream is a colour
terminal; otherwise they are plain text in aligned columns, which is also what lands in pipes and
files so that ``grep`` and ``awk`` work on it. Colour is used only on a terminal and never when
``NO_COLOR`` is set (https://no-color.org).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

__all__ = ["Output", "colour_allowed", "day", "state_label"]

_LABELS = {
    "ACTIVE": "Active",
    "LEGACY": "Legacy",
    "EXTENDED_ACCESS": "extended access",
    "EOL": "EOL",
    "UNKNOWN": "unknown",
}
# rich style names; the plain fallback maps them to ANSI codes.
_STATE_STYLES = {
    "ACTIVE": "green",
    "LEGACY": "yellow",
    "EXTENDED_ACCESS": "magenta",
    "EOL": "bold red",
    "UNKNOWN": "dim",
}
_ANSI = {
    "green": "32",
    "yellow": "33",
    "magenta": "35",
    "bold red": "1;31",
    "dim": "2",
    "bold": "1",
}


def state_label(state: str) -> str:
    """``Active``, ``Legacy``, ``extended access``, ``EOL`` or ``unknown``."""
    return _LABELS.get(state, state)


def day(value: datetime | None) -> str | None:
    """``YYYY-MM-DD`` of an aware datetime, or ``None``."""
    return value.date().isoformat() if value is not None else None


def colour_allowed(stream: TextIO) -> bool:
    """Whether to colour ``stream``: a terminal, and ``NO_COLOR`` unset or empty."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _rich_console(stream: TextIO, colour: bool) -> Any:
    try:
        from rich.console import Console
    except ImportError:
        return None
    return Console(file=stream, no_color=not colour, highlight=False, soft_wrap=False)


class Output:
    """Where a command writes: ``stdout`` for results, ``stderr`` for notes and progress."""

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.colour = colour_allowed(self.stdout)
        # rich draws the tables on a colour terminal; pipes, files and NO_COLOR get plain text.
        self._console = _rich_console(self.stdout, self.colour) if self.colour else None

    # -- plain lines ----------------------------------------------------------------------------

    def line(self, text: str = "", style: str | None = None) -> None:
        """One line of results on stdout (styled only when colour is on)."""
        self.stdout.write(self.paint(text, style) + "\n")

    def note(self, text: str) -> None:
        """A remark for the person at the terminal, on stderr (after what stdout holds)."""
        self.stdout.flush()
        self.stderr.write(f"bedrock-lifecycle: {text}\n")

    def json(self, data: Any) -> None:
        """``data`` as indented JSON on stdout."""
        self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def paint(self, text: str, style: str | None) -> str:
        """``text`` in ``style`` (ANSI) when colour is on, else unchanged."""
        if not style or not self.colour or not text:
            return text
        code = _ANSI.get(style)
        return f"\x1b[{code}m{text}\x1b[0m" if code else text

    def state(self, state: str) -> str:
        """A state's label, coloured when colour is on (for plain lines)."""
        return self.paint(state_label(state), _STATE_STYLES.get(state))

    # -- tables ---------------------------------------------------------------------------------

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        states: Sequence[str | None] | None = None,
        state_column: int | None = None,
        right: Sequence[int] = (),
        title: str | None = None,
    ) -> None:
        """Rows under headers. ``states[i]`` colours cell ``state_column`` of row ``i``;
        column indexes in ``right`` are right-aligned (numbers, money)."""
        if self._console is not None:
            self._rich_table(headers, rows, states, state_column, right, title)
            return
        if title:
            self.line(title, "bold")
        widths = [len(h) for h in headers]
        for row in rows:
            for index, cell in enumerate(row):
                widths[index] = max(widths[index], len(cell))

        def fit(index: int, cell: str) -> str:
            return cell.rjust(widths[index]) if index in right else cell.ljust(widths[index])

        header = "  ".join(fit(i, h) for i, h in enumerate(headers)).rstrip()
        self.line(header, "bold")
        for row_index, row in enumerate(rows):
            cells = []
            for index, cell in enumerate(row):
                text = fit(index, cell)
                if states is not None and index == state_column:
                    state = states[row_index]
                    text = self.paint(text, _STATE_STYLES.get(state or ""))
                cells.append(text)
            self.line("  ".join(cells).rstrip())

    def _rich_table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        states: Sequence[str | None] | None,
        state_column: int | None,
        right: Sequence[int],
        title: str | None,
    ) -> None:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, title_justify="left", header_style="bold", box=None)
        for index, header in enumerate(headers):
            # Never squeeze or cut a model id to fit a narrow terminal: let the line run on.
            width = max([len(header), *(len(row[index]) for row in rows)])
            table.add_column(
                header,
                justify="right" if index in right else "left",
                no_wrap=True,
                min_width=width,
            )
        for row_index, row in enumerate(rows):
            cells: list[Any] = list(row)
            if states is not None and state_column is not None:
                style = _STATE_STYLES.get(states[row_index] or "", "")
                cells[state_column] = Text(row[state_column], style=style)
            table.add_row(*cells)
        console = self._console
        assert console is not None
        console.print(table, crop=False)
