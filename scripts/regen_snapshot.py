#!/usr/bin/env python3
"""Regenerate ``src/bedrock_lifecycle/data/lifecycle.json`` from saved copies of AWS's pages.

AWS publishes Amazon Bedrock's lifecycle dates on two pages of the Bedrock user guide:

* ``https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html`` (current policy)
* ``https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle-legacy.html``
  (models launched before 7 September 2026)

Save each page from a browser ("Save page as", HTML only) or as the markdown form AWS also serves
(``.../model-lifecycle.md``), then run::

    U=https://docs.aws.amazon.com/bedrock/latest/userguide
    python scripts/regen_snapshot.py --as-of 2026-11-25 \\
        --source-url $U/model-lifecycle.html --source-url $U/model-lifecycle-legacy.html \\
        model-lifecycle.html model-lifecycle-legacy.html \\
        -o src/bedrock_lifecycle/data/lifecycle.json

Give one ``--source-url`` for all files, or one per file in the same order; ``--source-note``
works the same way and adds a description (for example "saved 2026-11-25"). The output is
validated with the package's own ``parse_snapshot`` when the package is importable.

What is read
    Every table (HTML ``<table>`` or markdown pipe table) whose header has a "Legacy date" or
    "EOL date" column, and the bulleted form some copies use (``- **Provider**`` followed by
    ``- **Model ID:** ...`` lines). Tables of *Active* models (those with a "Launch date"
    column) carry no lifecycle dates and are skipped.

Shapes the pages have used
    * Newer pages: Model provider | Model name | Model ID | Regions | Legacy date | EOL date |
      Public extended access start date. A model with several region groups has one row per
      group; rows that continue a model (rowspan in HTML, short rows in markdown) repeat only the
      region and date cells.
    * Older pages: Model version | Legacy date | Public extended access date | EOL date |
      Recommended model version replacement | Recommended model ID. The model is named, not
      identified, and the regions sit in the date cells: "August 25, 2025 (us-east-1, us-east-2,
      and us-west-2 Regions)", "(all Regions)", "(only in us-west-2)". Names are turned into ids
      with :data:`NAME_TO_ID`; a name that is not there stops the run (add it, or list it in
      :data:`SKIPPED_NAMES` with the reason).

Dates
    "August 25, 2025", "Aug 25, 2025", "July 15th, 2025", "18th Sept 2026", "2025-08-25" and
    "1/15/2026" (US month/day/year). "—", "NA", "N/A", "TBD" and empty cells are no date.
    Dates are midnight UTC.

Regions
    Region codes (``us-east-1``, ``us-gov-west-1``, ...) are read out of the Regions cell, or, on
    older pages, out of the EOL date cell, else the Legacy date cell, else the extended-access
    cell. A row with no region code at all ("all Regions", or nothing said) gets an empty region
    list, which the package reads as "every region".

Merging several pages
    Pass older copies first and newer ones last. Entries are kept per (model id, region): a later
    page replaces an earlier page's entry for the same model and region; regions only an earlier
    page mentions are kept (pages drop rows once a model is past end of life), except where the
    later page still lists the same model with the same dates but without that region, which
    means AWS took the region out of the group. When a later page lists a model with explicit
    regions, an earlier "all regions" entry for that model is dropped.
    When a later page has no recommended-id column, the model keeps the ids an earlier page gave.
    The model's name and provider come from the newest page that lists it.

Bad input (a file that cannot be read, no lifecycle table, a cell that is not a date, an id that
is not an id, conflicting rows for one model and region on one page) stops the run with the file
and the reason; the exit status is 2.

Model cards and the catalogue
    Since 7 September 2026 AWS publishes lifecycle dates for newer models on their model cards
    (``model-card-<provider>-<model>.html``), not in the tables, and the bundled data also lists
    the models AWS offers (``data/catalogue.json``). Build it from saved copies of the cards::

        python scripts/regen_snapshot.py catalogue --as-of 2026-11-25 --min-copies 2 \\
            copies/a/model-card-amazon-nova-pro.md copies/b/model-card-amazon-nova-pro.md ... \\
            -o src/bedrock_lifecycle/data/catalogue.json

    Each card gives the model id (Programmatic Access table), its geo and global inference ids,
    the Regional Availability table (In-Region, Geo, Global per region), the launch date, "EOL no
    sooner than", the Legacy period (6 months or 45 days), "Model EOL date" and "Model
    lifecycle". Pass every copy of every card: a fact is kept only when at least
    ``--min-copies`` copies (default 2) give it and none contradicts it; the script says on
    stderr what it left out and why. A card whose lifecycle is Legacy with an EOL date adds the
    model as Legacy with that date.

Only the standard library is used (``html.parser`` for HTML).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

__all__ = [
    "NAME_TO_ID",
    "SKIPPED_NAMES",
    "Card",
    "Entry",
    "SnapshotInputError",
    "build_catalogue",
    "build_snapshot",
    "main",
    "merge_cards",
    "merge_pages",
    "parse_card",
    "parse_date",
    "parse_page",
    "parse_regions",
    "recommended_ids",
]

SNAPSHOT_FORMAT = 1
CATALOGUE_FORMAT = 1
CATALOGUE_KIND = "bedrock-lifecycle-catalogue"

# -- lookup tables --------------------------------------------------------------------------------

NAME_TO_ID: dict[str, str] = {
    # Older pages name models instead of giving ids. Keys are normalised with _name_key().
    "stable diffusion xl 1.0": "stability.stable-diffusion-xl-v1",
    "stable diffusion xl 0.8": "stability.stable-diffusion-xl-v0",
    "claude 3 opus": "anthropic.claude-3-opus-20240229-v1:0",
    "claude opus 4": "anthropic.claude-opus-4-20250514-v1:0",
    "claude 3.5 haiku": "anthropic.claude-3-5-haiku-20241022-v1:0",
    "claude 3.5 sonnet v1": "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "claude 3.5 sonnet": "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "claude 3.5 sonnet v2": "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "claude 3.7 sonnet": "anthropic.claude-3-7-sonnet-20250219-v1:0",
    "claude 3 sonnet": "anthropic.claude-3-sonnet-20240229-v1:0",
    "claude v1.3": "anthropic.claude-v1",
    "claude v2": "anthropic.claude-v2",
    "claude v2.1": "anthropic.claude-v2:1",
    "claude instant": "anthropic.claude-instant-v1",
    "titan image generator g1 v2": "amazon.titan-image-generator-v2:0",
    "amazon titan image generator g1 v1": "amazon.titan-image-generator-v1",
    "amazon titan text g1 premier": "amazon.titan-text-premier-v1:0",
    "amazon titan text g1 express": "amazon.titan-text-express-v1",
    "amazon titan text g1 lite": "amazon.titan-text-lite-v1",
    "cohere command": "cohere.command-text-v14",
    "cohere command light": "cohere.command-light-text-v14",
    "meta llama 2 13b chat v1": "meta.llama2-13b-chat-v1",
    "meta llama 2 70b chat v1": "meta.llama2-70b-chat-v1",
    "meta llama 2 13b": "meta.llama2-13b-v1",
    "meta llama 2 70b": "meta.llama2-70b-v1",
    "llama 3.1 405b instruct": "meta.llama3-1-405b-instruct-v1:0",
    "llama 3.2 1b instruct": "meta.llama3-2-1b-instruct-v1:0",
    "llama 3.2 3b instruct": "meta.llama3-2-3b-instruct-v1:0",
    "llama 3.2 11b instruct": "meta.llama3-2-11b-instruct-v1:0",
    "llama 3.2 90b instruct": "meta.llama3-2-90b-instruct-v1:0",
    "ai21 j2 mid v1": "ai21.j2-mid-v1",
    "ai21 j2 ultra v1": "ai21.j2-ultra-v1",
    "ai21 j2 grande instruct": "ai21.j2-grande-instruct",
    "ai21 j2 jumbo instruct": "ai21.j2-jumbo-instruct",
    "ai21 jamba instruct": "ai21.jamba-instruct-v1:0",
    "stability image core v1": "stability.stable-image-core-v1:0",
    "stability 3 large": "stability.sd3-large-v1:0",
    "stability image ultra v1": "stability.stable-image-ultra-v1:0",
}
"""Model names used by older pages (which give no model id), mapped to Bedrock model ids."""

SKIPPED_NAMES: dict[str, str] = {
    "titan embeddings text v1.1": (
        "no Bedrock model id could be confirmed for this version"
        " (v1.2 is amazon.titan-embed-text-v1)"
    ),
}
"""Names deliberately left out of the snapshot, with the reason printed when they are skipped."""

RECOMMENDED_ID_FIXES: dict[str, str] = {
    # Older pages wrote these recommended ids without the ":0" version suffix that Bedrock needs;
    # the same pages' Active tables list the full ids.
    "meta.llama3-1-8b-instruct-v1": "meta.llama3-1-8b-instruct-v1:0",
    "meta.llama3-1-70b-instruct-v1": "meta.llama3-1-70b-instruct-v1:0",
    "meta.llama3-8b-instruct-v1": "meta.llama3-8b-instruct-v1:0",
    "meta.llama3-70b-instruct-v1": "meta.llama3-70b-instruct-v1:0",
}

PROVIDERS: dict[str, str] = {
    "ai21": "AI21 Labs",
    "amazon": "Amazon",
    "anthropic": "Anthropic",
    "cohere": "Cohere",
    "deepseek": "DeepSeek",
    "luma": "Luma AI",
    "meta": "Meta",
    "mistral": "Mistral AI",
    "openai": "OpenAI",
    "qwen": "Qwen",
    "stability": "Stability AI",
    "twelvelabs": "TwelveLabs",
    "writer": "Writer",
}
"""Provider names for ids whose page gave none (older pages), by id prefix."""

# -- patterns -------------------------------------------------------------------------------------

MODEL_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]*\.[a-z0-9][a-z0-9.-]*(?::[a-z0-9]+)*")
_ID_IN_TEXT_RE = re.compile(
    r"(?<![\w.:-])[a-z0-9][a-z0-9-]*\.[a-z][a-z0-9.-]*[a-z0-9](?::[a-z0-9]+)*"
)
REGION_RE = re.compile(r"\b[a-z]{2}(?:-gov)?-[a-z]+-\d\b")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_WORD_DATE_RE = re.compile(r"\b([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_DMY_DATE_RE = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\.?,?\s+(\d{4})\b")
_ISO_DATE_RE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_US_DATE_RE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_NO_DATE = {"", "\u2014", "\u2013", "-", "na", "n/a", "tbd", "none", "not applicable"}


class SnapshotInputError(Exception):
    """A saved page cannot be turned into snapshot rows; the message names the file and why."""


# -- small parsers --------------------------------------------------------------------------------


def _clean(text: str) -> str:
    text = html.unescape(text)
    text = re.sub(r"<br\s*/?>", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"<[^>]+>", " ", text)
    text = text.replace("•", " ").replace("\\+", "+").replace("\\*", "*").replace("`", "")
    text = text.replace("**", "")
    return re.sub(r"\s+", " ", text).strip()


def _name_key(name: str) -> str:
    return re.sub(r"[^a-z0-9.]+", " ", _clean(name).lower()).strip()


def parse_date(text: str) -> date | None:
    """The date in a table cell, ignoring any region note; ``None`` for "—", "NA", "TBD", ...

    Raises :class:`ValueError` when the cell holds text that is not a date.
    """
    cell = _clean(text)
    bare = re.sub(r"\(.*?\)", "", cell).strip().lower()
    if bare in _NO_DATE:
        return None
    match = _WORD_DATE_RE.search(cell)
    if match and match.group(1).lower() in _MONTHS:
        month = _MONTHS[match.group(1).lower()]
        return date(int(match.group(3)), month, int(match.group(2)))
    match = _DMY_DATE_RE.search(cell)
    if match and match.group(2).lower() in _MONTHS:  # "18th Sept 2026" (newer model cards)
        return date(int(match.group(3)), _MONTHS[match.group(2).lower()], int(match.group(1)))
    match = _ISO_DATE_RE.search(cell)
    if match:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    match = _US_DATE_RE.search(cell)
    if match:
        return date(int(match.group(3)), int(match.group(1)), int(match.group(2)))
    raise ValueError(f"{cell!r} is not a date")


def parse_regions(text: str) -> list[str]:
    """Region codes named in a cell, in order of appearance, without duplicates."""
    seen: dict[str, None] = {}
    for code in REGION_RE.findall(_clean(text)):
        seen.setdefault(code, None)
    return list(seen)


def recommended_ids(text: str) -> list[str]:
    """Model ids named in a "Recommended model ID" cell (known typos corrected)."""
    seen: dict[str, None] = {}
    for found in _ID_IN_TEXT_RE.findall(_clean(text)):
        seen.setdefault(RECOMMENDED_ID_FIXES.get(found, found), None)
    return list(seen)


# -- table extraction -----------------------------------------------------------------------------


@dataclass
class _Table:
    header: list[str]
    rows: list[list[str]]


class _HtmlTables(HTMLParser):
    """Collects every <table> as a grid, spreading rowspan/colspan cells over what they cover."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[tuple[str, int, int]]]] = []
        self._stack: list[list[list[tuple[str, int, int]]]] = []
        self._cell: list[str] | None = None
        self._span = (1, 1)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._stack[-1].append([])
        elif tag in ("td", "th") and self._stack:
            values = dict(attrs)
            self._span = (_int(values.get("rowspan")), _int(values.get("colspan")))
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._stack:
            if not self._stack[-1]:
                self._stack[-1].append([])
            text = re.sub(r"\s+", " ", "".join(self._cell)).strip()
            self._stack[-1][-1].append((text, *self._span))
            self._cell = None
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _int(value: str | None) -> int:
    try:
        return max(1, int(value or "1"))
    except ValueError:
        return 1


def _grid(raw_rows: list[list[tuple[str, int, int]]]) -> list[list[str]]:
    grid: list[list[str]] = []
    pending: dict[tuple[int, int], str] = {}
    for r, raw in enumerate(raw_rows):
        row: list[str] = []
        col = 0
        cells = iter(raw)
        while True:
            if (r, col) in pending:
                row.append(pending.pop((r, col)))
                col += 1
                continue
            cell = next(cells, None)
            if cell is None:
                break
            text, rowspan, colspan = cell
            for c in range(colspan):
                row.append(text)
                for extra in range(1, rowspan):
                    pending[(r + extra, col + c)] = text
            col += colspan
        while (r, col) in pending:
            row.append(pending.pop((r, col)))
            col += 1
        grid.append(row)
    return grid


def _html_tables(text: str) -> list[_Table]:
    parser = _HtmlTables()
    parser.feed(text)
    parser.close()
    tables = []
    for raw in parser.tables:
        grid = [row for row in _grid(raw) if any(cell for cell in row)]
        if grid:
            tables.append(_Table(header=grid[0], rows=grid[1:]))
    return tables


def _split_pipe_row(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|"):
        body = body[:-1]
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", body)]


def _markdown_tables(text: str) -> list[_Table]:
    tables: list[_Table] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines) - 1:
        line, below = lines[i].strip(), lines[i + 1].strip()
        if line.startswith("|") and re.fullmatch(r"\|?\s*:?-{3,}.*", below):
            header = _split_pipe_row(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_split_pipe_row(lines[i]))
                i += 1
            tables.append(_Table(header=header, rows=rows))
        else:
            i += 1
    return tables


_LIST_KEYS = {
    "model name": "name",
    "model id": "model_id",
    "regions": "regions",
    "legacy date": "legacy",
    "eol date": "eol",
    "public extended access start date": "extended",
    "public extended access date": "extended",
    "recommended model id": "recommended",
}
_LIST_FIELD_RE = re.compile(r"\*\*([^*:]+):\*\*\s*(.*?)\s*(?=\s/\s*\*\*|$)")


def _markdown_list_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of the bulleted form: ``- **Provider**`` then ``  - **Model ID:** ...`` lines."""
    entry: dict[str, str] | None = None
    entry_line = 0
    groups: list[dict[str, str]] = []

    def flush() -> Iterator[tuple[int, dict[str, str]]]:
        if entry is None or ("model_id" not in entry and "name" not in entry):
            return
        if groups:
            for group in groups:
                yield entry_line, {**entry, **group}
        else:
            yield entry_line, dict(entry)

    for number, line in enumerate(text.splitlines(), start=1):
        top = re.fullmatch(r"- \*\*([^*:]+)\*\*\s*", line.rstrip())
        if top:
            yield from flush()
            entry, entry_line, groups = {"provider": top.group(1).strip()}, number, []
            continue
        sub = re.fullmatch(r"\s+- (\*\*.*)", line.rstrip())
        if entry is None or not sub:
            if entry is not None and line.strip() and not line.startswith(" "):
                yield from flush()
                entry, groups = None, []
            continue
        fields = {
            _LIST_KEYS[key.strip().lower()]: value.strip()
            for key, value in _LIST_FIELD_RE.findall(sub.group(1))
            if key.strip().lower() in _LIST_KEYS
        }
        if "/ **" in sub.group(1):
            groups.append(fields)
        else:
            entry.update(fields)
    yield from flush()


# -- rows -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One model over one group of regions, as one page gives it."""

    name: str
    provider: str
    model_id: str
    regions: tuple[str, ...]
    legacy_at: date | None
    extended_access_at: date | None
    eol_at: date | None
    recommended: tuple[str, ...] = ()
    has_recommended_column: bool = False
    source: str = ""
    where: str = field(default="", compare=False)


_HEADER_KEYS = [
    ("recommended model id", "recommended"),
    ("recommended model version replacement", "recommended_name"),
    ("public extended access", "extended"),
    ("model provider", "provider"),
    ("provider", "provider"),
    ("model name", "name"),
    ("model version", "name"),
    ("model id", "model_id"),
    ("regions", "regions"),
    ("legacy date", "legacy"),
    ("eol date", "eol"),
    ("launch date", "launch"),
]
_DATED = ("regions", "legacy", "extended", "eol")


def _columns(header: Sequence[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        lowered = _clean(title).lower()
        for needle, key in _HEADER_KEYS:
            if needle in lowered:
                columns.setdefault(key, index)
                break
    return columns


def _table_rows(table: _Table) -> Iterator[tuple[int, dict[str, str]]]:
    columns = _columns(table.header)
    if "launch" in columns or not ({"legacy", "eol"} & columns.keys()):
        return
    width = len(table.header)
    dated = sorted(columns[key] for key in _DATED if key in columns)
    previous: dict[str, str] | None = None
    for number, cells in enumerate(table.rows, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) >= width or previous is None:
            row = {
                key: cells[index] if index < len(cells) else "" for key, index in columns.items()
            }
        else:
            # A continuation row (rowspan flattened by the copy): its cells fill the region and
            # date columns, left to right; the rest is inherited from the row above.
            row = dict(previous)
            start = dated[0]
            by_index = {index: key for key, index in columns.items()}
            for offset, cell in enumerate(cells):
                key = by_index.get(start + offset)
                if key is not None:
                    row[key] = cell
        previous = row
        yield number, row


def _entry_from(raw: dict[str, str], *, where: str, source: str, has_rec: bool) -> Entry | None:
    name = _clean(raw.get("name", ""))
    model_id = _clean(raw.get("model_id", ""))
    if model_id:
        if not MODEL_ID_RE.fullmatch(model_id):
            raise SnapshotInputError(f"{where}: {model_id!r} is not a Bedrock model id")
    else:
        key = _name_key(name)
        if key in SKIPPED_NAMES:
            print(
                f"regen_snapshot: skipped {name!r} ({where}): {SKIPPED_NAMES[key]}", file=sys.stderr
            )
            return None
        if key not in NAME_TO_ID:
            raise SnapshotInputError(
                f"{where}: no model id for the model named {name!r}; add it to NAME_TO_ID"
            )
        model_id = NAME_TO_ID[key]
    dates: dict[str, date | None] = {}
    for key in ("legacy", "extended", "eol"):
        try:
            dates[key] = parse_date(raw.get(key, ""))
        except ValueError as exc:
            raise SnapshotInputError(f"{where}: {key} date: {exc}") from None
    if dates["legacy"] is None and dates["eol"] is None:
        raise SnapshotInputError(f"{where}: {model_id} has neither a legacy date nor an EOL date")
    regions: list[str] = []
    for key in ("regions", "eol", "legacy", "extended"):
        regions = parse_regions(raw.get(key, ""))
        if regions:
            break
    if "regions" in raw and raw["regions"].strip() and not parse_regions(raw["regions"]):
        raise SnapshotInputError(f"{where}: no region code in the Regions cell {raw['regions']!r}")
    provider = _clean(raw.get("provider", "")) or PROVIDERS.get(model_id.split(".", 1)[0], "")
    recommended = tuple(r for r in recommended_ids(raw.get("recommended", "")) if r != model_id)
    return Entry(
        name=name or model_id,
        provider=provider,
        model_id=model_id,
        regions=tuple(regions),
        legacy_at=dates["legacy"],
        extended_access_at=dates["extended"],
        eol_at=dates["eol"],
        recommended=recommended,
        has_recommended_column=has_rec,
        source=source,
        where=where,
    )


def parse_page(path: Path, *, source: str = "") -> list[Entry]:
    """Every lifecycle row of one saved page (HTML or markdown), in page order."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotInputError(f"{path}: cannot be read ({exc})") from None
    is_html = path.suffix.lower() in (".html", ".htm") or bool(
        re.search(r"<(?:!doctype html|html|table)\b", text[:5000], re.IGNORECASE)
    )
    raw_rows: list[tuple[str, dict[str, str], bool]] = []
    tables = _html_tables(text) if is_html else _markdown_tables(text)
    for t_number, table in enumerate(tables, start=1):
        has_rec = "recommended" in _columns(table.header)
        for r_number, raw in _table_rows(table):
            raw_rows.append((f"{path}: table {t_number}, row {r_number}", raw, has_rec))
    if not is_html:
        for line, raw in _markdown_list_rows(text):
            raw_rows.append((f"{path}: line {line}", raw, "recommended" in raw))
    entries = []
    for where, raw, has_rec in raw_rows:
        entry = _entry_from(raw, where=where, source=source, has_rec=has_rec)
        if entry is not None:
            entries.append(entry)
    if not entries:
        raise SnapshotInputError(
            f"{path}: no Legacy/EOL lifecycle table found (is this a saved Model lifecycle page?)"
        )
    _check_conflicts(entries)
    return entries


def _dates(entry: Entry) -> tuple[date | None, ...]:
    return (entry.legacy_at, entry.extended_access_at, entry.eol_at)


def _check_conflicts(entries: Iterable[Entry]) -> None:
    seen: dict[tuple[str, str | None], Entry] = {}
    for entry in entries:
        for region in entry.regions or (None,):
            other = seen.setdefault((entry.model_id, region), entry)
            if other is not entry and _dates(other) != _dates(entry):
                raise SnapshotInputError(
                    f"{entry.where}: {entry.model_id} in {region or 'all regions'} conflicts "
                    f"with {other.where} (different dates for the same model and region)"
                )


def merge_pages(pages: Sequence[Sequence[Entry]]) -> list[Entry]:
    """Merge pages given oldest first into rows: see "Merging several pages" above."""
    cells: dict[tuple[str, str | None], Entry] = {}
    recommended: dict[str, tuple[str, ...]] = {}
    names: dict[str, tuple[str, str]] = {}
    for entries in pages:
        explicit = {entry.model_id for entry in entries if entry.regions}
        listed: dict[tuple[str, tuple[date | None, ...]], set[str]] = {}
        for entry in entries:
            listed.setdefault((entry.model_id, _dates(entry)), set()).update(entry.regions)
        for key, old in list(cells.items()):
            model_id, region = key
            if region is None and model_id in explicit:
                del cells[key]  # the newer page narrowed "all regions" to a list
            elif region is not None and region not in listed.get((model_id, _dates(old)), {region}):
                del cells[key]  # the same group is still listed, without this region: withdrawn
        for entry in entries:
            names[entry.model_id] = (entry.name, entry.provider)
            if entry.has_recommended_column:
                recommended[entry.model_id] = entry.recommended
            for region in entry.regions or (None,):
                cells[(entry.model_id, region)] = entry
    groups: dict[tuple[Any, ...], list[str | None]] = {}
    for (model_id, region), entry in cells.items():
        groups.setdefault((model_id, *_dates(entry), entry.source), []).append(region)
    rows = []
    for (model_id, legacy, extended, eol, source), regions in groups.items():
        name, provider = names[model_id]
        rows.append(
            Entry(
                name=name,
                provider=provider,
                model_id=model_id,
                regions=tuple(sorted(r for r in regions if r is not None)),
                legacy_at=legacy,
                extended_access_at=extended,
                eol_at=eol,
                recommended=recommended.get(model_id, ()),
                source=source,
            )
        )
    rows.sort(key=lambda e: (e.provider.lower(), e.model_id, e.eol_at or date.max, e.regions))
    return rows


# -- model cards ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """What one saved copy of one model card says. ``None`` or ``()``: the card does not say."""

    model_id: str
    name: str
    provider: str
    regions: tuple[str, ...]
    on_demand_regions: tuple[str, ...]
    profiles: tuple[str, ...]
    streams: bool | None
    launched_at: date | None
    eol_not_before: date | None
    legacy_period_days: int | None
    status: str | None
    eol_at: date | None
    where: str = field(default="", compare=False)

    @property
    def inference(self) -> str | None:
        if not self.regions:
            return None
        return "on_demand" if self.on_demand_regions else "profile_only"


_CARD_FIELD_RE = re.compile(r"^\s*[+*-]\s*\*\*([^*]+?):?\*\*:?\s*(.*?)\s*$", re.MULTILINE)
_GEO_ID_RE = re.compile(r"\b([a-z]{2,6}(?:-gov)?)\.[a-z0-9-]+\.[a-z0-9.:-]+")
_YES = ("icon-yes", "checkmark", "✓", "✅", "yes")


def _card_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for key, value in _CARD_FIELD_RE.findall(text):
        fields.setdefault(_clean(key).lower().rstrip(":"), _clean(value))
    return fields


def _legacy_period(text: str) -> int | None:
    lowered = text.lower()
    if re.search(r"\b45\s*days?\b", lowered):
        return 45
    if re.search(r"\b(6|six)\s*months?\b", lowered):
        return 180
    return None


def _card_date(text: str, where: str, label: str) -> date | None:
    if not text or "not applicable" in text.lower():
        return None
    try:
        return parse_date(text)
    except ValueError as exc:
        raise SnapshotInputError(f"{where}: {label}: {exc}") from None


def _is_yes(cell: str) -> bool:
    lowered = cell.lower()
    return any(mark in lowered for mark in _YES) and "icon-no" not in lowered


def parse_card(path: Path) -> Card:
    """One saved copy of a model card (markdown or HTML)."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotInputError(f"{path}: cannot be read ({exc})") from None
    where = str(path)
    is_html = path.suffix.lower() in (".html", ".htm")
    body = re.sub(r"<li>\s*", "\n+ ", text, flags=re.IGNORECASE) if is_html else text
    fields = _card_fields(body if not is_html else re.sub(r"</?(strong|b)>", "**", body))
    tables = _html_tables(text) if is_html else _markdown_tables(text)
    model_id = ""
    profiles: set[str] = set()
    regions: list[str] = []
    on_demand: list[str] = []
    for table in tables:
        header = [_clean(cell).lower() for cell in table.header]
        if "model id" in header:
            at = header.index("model id")
            for row in table.rows:
                if row and "bedrock-runtime" in _clean(row[0]) and at < len(row):
                    candidate = _clean(row[at])
                    if MODEL_ID_RE.fullmatch(candidate):
                        model_id = model_id or candidate
                    for cell in row[at + 1 :]:
                        profiles.update(_GEO_ID_RE.findall(_clean(cell)))
        elif header and header[0].startswith("region") and "in-region" in header:
            at = header.index("in-region")
            for row in table.rows:
                found = parse_regions(row[0]) if row else []
                if not found:
                    continue
                if any(_is_yes(cell) for cell in row[1:]):
                    regions.append(found[0])
                if at < len(row) and _is_yes(row[at]):
                    on_demand.append(found[0])
    if not model_id:
        raise SnapshotInputError(f"{where}: no bedrock-runtime model id (is this a model card?)")
    heading = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
    name = _clean(heading.group(1)) if heading else model_id
    header = re.search(r"^##\s.*?([A-Z][\w .&-]*?)\s+—\s+" + re.escape(name), text, re.MULTILINE)
    provider = PROVIDERS.get(model_id.split(".", 1)[0], header.group(1) if header else "")
    eol_text = fields.get("model eol date", "")
    not_before = fields.get("eol no sooner than", "")
    if not not_before and "sooner than" in eol_text.lower():
        not_before, eol_text = eol_text, ""  # older cards: "Model EOL date: No sooner than ..."
    lifecycle = fields.get("model lifecycle", "").strip().upper() or None
    features = " ".join(fields.values()) + text
    streams = True if re.search(r"response streaming", features, re.IGNORECASE) else None
    return Card(
        model_id=model_id,
        name=name,
        provider=provider,
        regions=tuple(sorted(set(regions))),
        on_demand_regions=tuple(sorted(set(on_demand))),
        profiles=tuple(sorted(profiles)),
        streams=streams,
        launched_at=_card_date(fields.get("model launch date", ""), where, "launch date"),
        eol_not_before=_card_date(not_before, where, "EOL no sooner than"),
        legacy_period_days=_legacy_period(fields.get("legacy period", "") or not_before),
        status=lifecycle if lifecycle in ("ACTIVE", "LEGACY") else None,
        eol_at=_card_date("" if eol_text.upper() in ("N/A", "NA") else eol_text, where, "EOL"),
        where=where,
    )


# A card gives every fact of a catalogue entry but these (the loader's own fields).
_NOT_FROM_CARDS = frozenset({"model_id", "legacy_at", "source", "as_of"})


def _card_facts() -> tuple[str, ...]:
    """The catalogue entry's fields a model card gives, in the entry's order."""
    from dataclasses import fields

    from bedrock_lifecycle._bundled import CatalogueEntry

    return tuple(f.name for f in fields(CatalogueEntry) if f.name not in _NOT_FROM_CARDS)


def merge_cards(
    cards: Sequence[Card], *, min_copies: int = 2, report: list[str] | None = None
) -> list[dict[str, Any]]:
    """One catalogue entry per model: each fact that ``min_copies`` copies agree on.

    A fact two copies give differently is left out (the copies disagree); so is a fact fewer
    than ``min_copies`` copies give. Each omission is appended to ``report``.
    """
    by_model: dict[str, list[Card]] = {}
    for card in cards:
        by_model.setdefault(card.model_id, []).append(card)
    entries = []
    for model_id in sorted(by_model):
        copies = by_model[model_id]
        if len(copies) < min_copies:
            if report is not None:
                report.append(f"{model_id}: left out, {len(copies)} copy of its card")
            continue
        entry: dict[str, Any] = {"model_id": model_id}
        for fact in _card_facts():
            values = [getattr(card, fact) for card in copies]
            given = [value for value in values if value not in (None, ())]
            distinct = {json.dumps(_iso_any(value)) for value in given}
            if len(distinct) == 1 and len(given) >= min_copies:
                entry[fact] = _iso_any(given[0])
            elif given and report is not None:
                why = "copies disagree" if len(distinct) > 1 else f"{len(given)} copy gives it"
                report.append(f"{model_id}: {fact} left out ({why})")
        if entry.get("status") == "ACTIVE":
            del entry["status"]
        entries.append(entry)
    return entries


def _iso_any(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def build_catalogue(
    entries: Iterable[dict[str, Any]], *, as_of: date, source: str, description: str
) -> dict[str, Any]:
    """The catalogue JSON document (format 1) for ``entries``."""
    models = []
    for entry in entries:
        model = dict(entry)
        model.setdefault("name", model["model_id"])
        model.setdefault("provider", PROVIDERS.get(model["model_id"].split(".", 1)[0], ""))
        model["source"] = source
        models.append(model)
    return {
        "format": CATALOGUE_FORMAT,
        "kind": CATALOGUE_KIND,
        "as_of": as_of.isoformat(),
        "sources": {source: description},
        "models": models,
    }


def _validate_catalogue(document: dict[str, Any], origin: str) -> None:
    try:
        from bedrock_lifecycle._bundled import parse_catalogue
    except ImportError:  # the package is not installed: the shape is still ours
        return
    parse_catalogue(document, origin=origin)


def main_catalogue(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="regen_snapshot catalogue",
        description="Build the bundled catalogue of listed models from saved model cards.",
    )
    parser.add_argument("cards", nargs="+", type=Path, help="saved model cards, every copy")
    parser.add_argument("--as-of", required=True, help="the day the cards were read (YYYY-MM-DD)")
    parser.add_argument("--min-copies", type=int, default=2, help="copies that must agree (2)")
    parser.add_argument("--source-key", default="model-cards", help="key in 'sources'")
    parser.add_argument(
        "--source-note",
        default="https://docs.aws.amazon.com/bedrock/latest/userguide/model-cards.html",
        help="what the copies are",
    )
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)
    report: list[str] = []
    try:
        try:
            as_of = date.fromisoformat(args.as_of)
        except ValueError:
            raise SnapshotInputError(f"--as-of: {args.as_of!r} is not YYYY-MM-DD") from None
        if args.min_copies < 1:
            raise SnapshotInputError("--min-copies: must be at least 1")
        cards = [parse_card(path) for path in args.cards]
        entries = merge_cards(cards, min_copies=args.min_copies, report=report)
        document = build_catalogue(
            entries, as_of=as_of, source=args.source_key, description=args.source_note
        )
        _validate_catalogue(document, str(args.output or "<stdout>"))
    except SnapshotInputError as exc:
        print(f"regen_snapshot: error: {exc}", file=sys.stderr)
        return 2
    for line in report:
        print(f"regen_snapshot: {line}", file=sys.stderr)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        _write_private(args.output, text)
        count = len(document["models"])
        print(f"regen_snapshot: wrote {count} models to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def build_snapshot(
    rows: Iterable[Entry], *, as_of: date, sources: dict[str, str]
) -> dict[str, Any]:
    """The snapshot JSON document (format 1) for ``rows``."""
    return {
        "format": SNAPSHOT_FORMAT,
        "as_of": as_of.isoformat(),
        "sources": dict(sources),
        "rows": [
            {
                "name": row.name,
                "provider": row.provider,
                "model_id": row.model_id,
                "regions": list(row.regions),
                "legacy_at": _iso(row.legacy_at),
                "extended_access_at": _iso(row.extended_access_at),
                "eol_at": _iso(row.eol_at),
                "recommended": list(row.recommended),
                "source": row.source,
                "as_of": as_of.isoformat(),
            }
            for row in rows
        ],
    }


def _validate(document: dict[str, Any], origin: str) -> None:
    try:
        from bedrock_lifecycle._bundled import parse_snapshot
    except ImportError:  # the package is not installed: the shape is still ours
        return
    parse_snapshot(document, origin=origin)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _per_file(values: list[str], count: int, option: str) -> list[str]:
    if not values:
        return [""] * count
    if len(values) == 1:
        return values * count
    if len(values) != count:
        raise SnapshotInputError(f"{option}: give it once, or once per input file ({count})")
    return values


def _source_key(path: Path, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-") or "page"
    key, n = base, 2
    while key in used:
        key, n = f"{base}-{n}", n + 1
    used.add(key)
    return key


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["catalogue"]:
        return main_catalogue(arguments[1:])
    parser = argparse.ArgumentParser(
        prog="regen_snapshot",
        description="Build the bundled lifecycle snapshot from saved Model lifecycle pages.",
    )
    parser.add_argument("pages", nargs="+", type=Path, help="saved pages, oldest first")
    parser.add_argument("--as-of", required=True, help="the day the pages were read (YYYY-MM-DD)")
    parser.add_argument("--source-url", action="append", default=[], help="page URL (repeatable)")
    parser.add_argument("--source-note", action="append", default=[], help="note (repeatable)")
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    args = parser.parse_args(arguments)
    try:
        try:
            as_of = date.fromisoformat(args.as_of)
        except ValueError:
            raise SnapshotInputError(f"--as-of: {args.as_of!r} is not YYYY-MM-DD") from None
        urls = _per_file(args.source_url, len(args.pages), "--source-url")
        notes = _per_file(args.source_note, len(args.pages), "--source-note")
        sources: dict[str, str] = {}
        pages = []
        used: set[str] = set()
        for path, url, note in zip(args.pages, urls, notes, strict=True):
            key = _source_key(path, used)
            sources[key] = " — ".join(part for part in (url, note) if part) or str(path.name)
            pages.append(parse_page(path, source=key))
        document = build_snapshot(merge_pages(pages), as_of=as_of, sources=sources)
        _validate(document, str(args.output or "<stdout>"))
    except SnapshotInputError as exc:
        print(f"regen_snapshot: error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        _write_private(args.output, text)
        rows = document["rows"]
        print(f"regen_snapshot: wrote {len(rows)} rows to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
