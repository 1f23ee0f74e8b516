"""``bedrock-lifecycle compare --html``: one self-contained page, opened in a real headless
browser (Debian's Chromium) to check that every chart draws.

Without Chromium the test is skipped on a developer's machine, and fails under CI (``CI`` set),
whose ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bedrock_lifecycle import JsonlLedger, ShadowRecord, ShadowSide

pytestmark = pytest.mark.slow

OLD = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NEW = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
STRICT = "amazon.example-strict-v1:0"
T0 = datetime(2026, 1, 10, tzinfo=timezone.utc)

_SCRIPT = shutil.which("bedrock-lifecycle", path=os.path.dirname(sys.executable))
COMMAND = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "bedrock_lifecycle.cli"]
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Console messages (a script error, a Content-Security-Policy violation) go to stderr.
    "--enable-logging=stderr",
    "--v=0",
)


def chromium_or_skip() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return found


def side(model: str, rng: random.Random, centre: float, cost: float) -> ShadowSide:
    return ShadowSide(
        model_id=model,
        latency_ms=round(rng.gauss(centre, centre / 6), 1),
        input_tokens=1000,
        output_tokens=rng.randint(150, 250),
        cost_usd=cost,
        stop_reason="end_turn",
        output_chars=800,
    )


def write_ledger(path: Path) -> None:
    """Two pairs over two days: a ready successor, and one that refuses a tenth of the calls."""
    rng = random.Random(7)
    ledger = JsonlLedger[ShadowRecord](path)
    for index in range(60):
        at = T0 + timedelta(minutes=48 * index)
        ledger.record(
            ShadowRecord(
                timestamp=at,
                region="us-east-1",
                operation="Converse",
                shadow_operation="Converse",
                primary=side(OLD, rng, 900.0, 0.0060),
                shadow=side(NEW, rng, 650.0, 0.0045),
                similarity=round(rng.uniform(0.3, 0.95), 3),
                prompt_hash=f"{index:064x}",
            )
        )
        refused = index % 10 == 0
        ledger.record(
            ShadowRecord(
                timestamp=at,
                region="us-east-1",
                operation="Converse",
                shadow_operation="Converse",
                primary=side(OLD, rng, 900.0, 0.0060),
                shadow=ShadowSide(
                    model_id=STRICT, latency_ms=30.0, error_code="ValidationException"
                )
                if refused
                else side(STRICT, rng, 400.0, 0.0008),
                similarity=None if refused else round(rng.uniform(0.1, 0.6), 3),
                prompt_hash=f"{index:064x}",
            )
        )
    ledger.close()


def compare(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, "compare", str(tmp_path / "shadow.jsonl"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "PYTHONWARNINGS": "error", **(env or {})},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def chart_fragments(dom: str, ids: list[str]) -> dict[str, str]:
    """Each chart's part of the rendered DOM: from its container to the next chart's."""
    starts = sorted((dom.index(f'id="{chart}"'), chart) for chart in ids)
    ends = [start for start, _ in starts[1:]] + [len(dom)]
    return {chart: dom[start:end] for (start, chart), end in zip(starts, ends, strict=True)}


def drawn_paths(fragment: str, css_class: str) -> int:
    """SVG paths with real geometry inside elements of ``css_class`` (box, point)."""
    marks = re.findall(rf'<path[^>]*class="{css_class}"[^>]*\sd="(M[^"]+)"', fragment)
    marks += re.findall(rf'<g class="{css_class}"[^>]*><path[^>]*\sd="(M[^"]+)"', fragment)
    return sum(1 for mark in marks if re.search(r"[1-9]", mark))


def test_the_html_report_draws_every_chart_in_a_browser(tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    write_ledger(tmp_path / "shadow.jsonl")

    done = compare(tmp_path, "--html", "report.html")

    assert done.returncode == 1, done.stderr  # the second successor is not ready
    assert "HTML report written to report.html" in done.stderr
    page = tmp_path / "report.html"
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    source = page.read_text(encoding="utf-8")
    # Self-contained: no script, style sheet or image is fetched, and the page forbids it.
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=", source)
    assert not re.search(r"<link[^>]*\shref=", source)
    assert "default-src 'none'" in source
    assert source.count("<section") == 2

    profile = tmp_path / "profile"
    rendered = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    assert "Content Security Policy" not in rendered.stderr  # nothing tried to load
    assert "Uncaught" not in rendered.stderr  # no script error
    dom = rendered.stdout
    charts = [f"{kind}-{pair}" for pair in (0, 1) for kind in ("latency", "cost", "similarity")]
    fragments = chart_fragments(dom, charts)
    for chart, fragment in fragments.items():
        assert 'class="main-svg"' in fragment, f"{chart} was not drawn"
    for pair in (0, 1):
        # Two latency boxes with their points, two cost bars, and similarity bars.
        assert drawn_paths(fragments[f"latency-{pair}"], "box") == 2
        assert drawn_paths(fragments[f"latency-{pair}"], "point") >= 100
        assert drawn_paths(fragments[f"cost-{pair}"], "point") == 2
        assert drawn_paths(fragments[f"similarity-{pair}"], "point") >= 3
    assert "not ready" in dom
    assert "the successor refused 6 request(s) (ValidationException)" in dom


def test_html_without_the_report_extra_says_how_to_install_it(tmp_path: Path) -> None:
    write_ledger(tmp_path / "shadow.jsonl")
    # A plotly that cannot be imported, as on a machine without the report extra.
    stub = tmp_path / "no-plotly" / "plotly"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('No module named plotly')\n")

    done = compare(tmp_path, "--html", "report.html", env={"PYTHONPATH": str(stub.parent)})

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "bedrock-lifecycle: error: --html needs the plotly package: "
        "pip install 'bedrock-lifecycle[report]'\n"
    )
    assert not (tmp_path / "report.html").exists()
