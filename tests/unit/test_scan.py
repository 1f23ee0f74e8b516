"""The source scanner: what it finds, where, and which files it reads."""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock_lifecycle._ids import IdForm
from bedrock_lifecycle._scan import _ID_RE, Finding, _matches_in, _scan_file, scan_paths


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode("utf-8"))
    return path


def scan_one(tmp_path: Path, text: str | bytes, name: str = "sample.txt") -> list[Finding]:
    file = write(tmp_path / name, text)
    return list(scan_paths([file], jobs=1))


def where(findings: list[Finding]) -> list[tuple[int, int, int, str]]:
    return [(f.line, f.column, f.end_column, f.text) for f in findings]


# --- every form ----------------------------------------------------------------------------------

BASE_IDS = [
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "amazon.titan-text-express-v1",
    "amazon.nova-pro-v1:0",
    "meta.llama3-1-70b-instruct-v1:0",
    "cohere.command-r-plus-v1:0",
    "mistral.mistral-large-2402-v1:0",
    "ai21.jamba-1-5-large-v1:0",
    "stability.sd3-5-large-v1:0",
    "deepseek.r1-v1:0",
    "writer.palmyra-x5-v1:0",
    "openai.gpt-oss-120b-1:0",
    "qwen.qwen3-32b-v1:0",
    "twelvelabs.marengo-embed-2-7-v1:0",
    "luma.ray-v2:0",
    "google.gemma-3-27b-it",
    "anthropic.claude-3-sonnet-20240229-v1:0:28k",
]


@pytest.mark.parametrize("model_id", BASE_IDS)
def test_finds_base_ids(tmp_path: Path, model_id: str) -> None:
    (finding,) = scan_one(tmp_path, f'MODEL_ID = "{model_id}"\n', "app.py")
    assert (finding.line, finding.column, finding.text) == (1, 13, model_id)
    assert finding.end_column == 13 + len(model_id)
    assert finding.ref.form is IdForm.BASE
    assert finding.ref.base_id == model_id


@pytest.mark.parametrize("geo", ["us", "eu", "apac", "us-gov", "global", "jp", "au", "ca"])
def test_finds_system_profiles(tmp_path: Path, geo: str) -> None:
    profile = f"{geo}.anthropic.claude-3-5-sonnet-20240620-v1:0"
    (finding,) = scan_one(tmp_path, f"model: {profile}\n", "config.yaml")
    assert (finding.line, finding.column, finding.text) == (1, 8, profile)
    assert finding.ref.form is IdForm.PROFILE
    assert finding.ref.geo == geo
    assert finding.ref.base_id == "anthropic.claude-3-5-sonnet-20240620-v1:0"


ARNS = [
    (
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2:1",
        IdForm.FOUNDATION_MODEL_ARN,
        "anthropic.claude-v2:1",
    ),
    (
        "arn:aws:bedrock:us-west-2:123456789012:inference-profile/"
        "us.meta.llama3-2-90b-instruct-v1:0",
        IdForm.INFERENCE_PROFILE_ARN,
        "meta.llama3-2-90b-instruct-v1:0",
    ),
    (
        "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
        IdForm.APPLICATION_PROFILE_ARN,
        None,
    ),
    (
        "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcd1234efgh",
        IdForm.PROVISIONED_MODEL_ARN,
        None,
    ),
    (
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/"
        "amazon.titan-text-express-v1:0:8k/a1b2c3d4e5f6",
        IdForm.CUSTOM_MODEL_ARN,
        "amazon.titan-text-express-v1:0:8k",
    ),
    (
        "arn:aws:bedrock:us-east-1:123456789012:imported-model/z9y8x7w6v5u4",
        IdForm.IMPORTED_MODEL_ARN,
        None,
    ),
    (
        "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/a1b2c3d4e5f6",
        IdForm.CUSTOM_MODEL_DEPLOYMENT_ARN,
        None,
    ),
    (
        "arn:aws:bedrock:us-east-1:123456789012:default-prompt-router/anthropic.claude:1",
        IdForm.PROMPT_ROUTER_ARN,
        None,
    ),
    (
        "arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/"
        "anthropic.claude-3-haiku-20240307-v1:0",
        IdForm.FOUNDATION_MODEL_ARN,
        "anthropic.claude-3-haiku-20240307-v1:0",
    ),
    (
        "arn:aws-cn:bedrock:cn-north-1::foundation-model/newvendor.some-model-v1:0",
        IdForm.FOUNDATION_MODEL_ARN,
        "newvendor.some-model-v1:0",
    ),
]


@pytest.mark.parametrize(("arn", "form", "base_id"), ARNS)
def test_finds_arns(tmp_path: Path, arn: str, form: IdForm, base_id: str | None) -> None:
    (finding,) = scan_one(tmp_path, f"resource \"x\" {{\n  model_arn = '{arn}'\n}}\n", "main.tf")
    assert (finding.line, finding.column, finding.text) == (2, 16, arn)
    assert finding.end_column == 16 + len(arn)
    assert finding.ref.form is form
    assert finding.ref.base_id == base_id


def test_finds_ids_in_request_paths_plain_and_url_encoded(tmp_path: Path) -> None:
    text = (
        "POST /model/us.anthropic.claude-3-5-sonnet-20240620-v1:0/converse\n"
        "POST /model/anthropic.claude-v2%3A1/invoke\n"
        "POST /model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile"
        "%2Fus.anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream\n"
    )
    findings = scan_one(tmp_path, text, "requests.http")
    assert where(findings) == [
        (1, 13, 13 + 44, "us.anthropic.claude-3-5-sonnet-20240620-v1:0"),
        (2, 13, 13 + 23, "anthropic.claude-v2%3A1"),
        (
            3,
            13,
            13 + 112,
            "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile"
            "%2Fus.anthropic.claude-3-haiku-20240307-v1%3A0",
        ),
    ]
    assert findings[1].ref.base_id == "anthropic.claude-v2:1"
    assert findings[2].ref.form is IdForm.INFERENCE_PROFILE_ARN
    assert findings[2].ref.base_id == "anthropic.claude-3-haiku-20240307-v1:0"
    assert findings[2].ref.account == "123456789012"


# --- positions -----------------------------------------------------------------------------------


def test_several_ids_on_a_line_and_at_line_start_and_end(tmp_path: Path) -> None:
    text = (
        "anthropic.claude-v2:1\n"
        'ids = ["amazon.titan-text-express-v1", "eu.amazon.nova-lite-v1:0"]\n'
        "x = 1; fallback=meta.llama3-8b-instruct-v1:0"  # no newline at the end of the file
    )
    assert where(scan_one(tmp_path, text)) == [
        (1, 1, 22, "anthropic.claude-v2:1"),
        (2, 9, 37, "amazon.titan-text-express-v1"),
        (2, 41, 65, "eu.amazon.nova-lite-v1:0"),
        (3, 17, 45, "meta.llama3-8b-instruct-v1:0"),
    ]


def test_crlf_files_count_lines_and_columns_like_lf_files(tmp_path: Path) -> None:
    lines = ["# models", 'a = "anthropic.claude-v2:1"', "", "  b: us.amazon.nova-pro-v1:0"]
    crlf = scan_one(tmp_path, "\r\n".join(lines) + "\r\n", "crlf.txt")
    lf = scan_one(tmp_path, "\n".join(lines) + "\n", "lf.txt")
    assert (
        where(crlf)
        == where(lf)
        == [
            (2, 6, 27, "anthropic.claude-v2:1"),
            (4, 6, 29, "us.amazon.nova-pro-v1:0"),
        ]
    )


def test_columns_count_characters_not_bytes(tmp_path: Path) -> None:
    # "é" is 2 bytes, "模型" 6 bytes, the emoji 4 bytes (and 2 UTF-16 units): 1, 2, 1 characters.
    text = 'café = 1\n# 模型 😀 = "amazon.nova-pro-v1:0" and cohere.command-r-v1:0\n'
    findings = scan_one(tmp_path, text)
    assert where(findings) == [
        (2, 11, 31, "amazon.nova-pro-v1:0"),
        (2, 37, 58, "cohere.command-r-v1:0"),
    ]
    line = text.splitlines()[1]
    for finding in findings:
        start = finding.column - 1
        assert line[start : finding.end_column - 1] == finding.text


def test_invalid_utf8_before_an_id_still_gives_a_column(tmp_path: Path) -> None:
    data = b'\xff\xfe x = "anthropic.claude-v2:1"\n'
    (finding,) = scan_one(tmp_path, data)
    # each undecodable byte is one replacement character
    assert (finding.line, finding.column) == (1, 9)


def test_findings_carry_no_surrounding_source(tmp_path: Path) -> None:
    text = 'API_KEY="sk-very-secret-123"; MODEL="anthropic.claude-v2:1"; TOKEN=hunter2\n'
    (finding,) = scan_one(tmp_path, text)
    assert [field.name for field in dataclasses.fields(finding)] == [
        "path",
        "line",
        "column",
        "end_column",
        "text",
        "ref",
    ]
    assert "secret" not in repr(finding)
    assert "hunter2" not in repr(finding)


# --- no false positives --------------------------------------------------------------------------

NOT_IDS = [
    "path = os.path.join(root, name)",
    "self.model_id = model_id",
    "self.name = meta.name",
    'VERSION = "v1:0"',
    "contact us at dev@amazon.com or ops@anthropic.com",
    "see https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html",
    "const env = import.meta.env.VITE_API_URL;",
    "from google.cloud import storage-2",  # no digit in the name after the provider
    "writer.writerow(row)",
    "stability.ai-is-a-company",
    "client = boto3.client('bedrock-runtime', region_name='us-east-1')",
    "openai.ChatCompletion.create(model='gpt-4')",
    "x.anthropic.claude-v2:1",  # preceded by another dotted name
    "anthropic.claude-v2:1_backup",  # runs into an identifier
    "arn:aws:s3:::my-bucket/anthropic",
    "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123",
]


@pytest.mark.parametrize("line", NOT_IDS)
def test_ordinary_code_is_not_reported(tmp_path: Path, line: str) -> None:
    assert scan_one(tmp_path, line + "\n", "code.py") == []


def test_an_id_cut_short_by_a_dotted_version_is_not_reported_in_part(tmp_path: Path) -> None:
    # The id grammar has no "." inside names: reporting "…-k2" out of "…-k2.5" would be wrong.
    assert scan_one(tmp_path, "m = moonshot.kimi-k2.5\n") == []


# --- which files ---------------------------------------------------------------------------------


def rel(findings: list[Finding], root: Path) -> list[str]:
    return [Path(os.path.relpath(f.path, root)).as_posix() for f in findings]


ID_LINE = 'MODEL = "anthropic.claude-3-haiku-20240307-v1:0"\n'


def make_project(root: Path) -> None:
    write(root / "app.py", ID_LINE)
    write(root / "src" / "svc" / "handler.ts", ID_LINE)
    write(root / "build" / "out.js", ID_LINE)
    write(root / "debug.log", ID_LINE)
    write(root / "src" / "generated" / "keep.py", ID_LINE)
    write(root / "src" / "generated" / "drop.py", ID_LINE)
    write(root / "node_modules" / "lib" / "index.js", ID_LINE)
    write(root / ".gitignore", "build/\n*.log\nnode_modules/\n")
    write(root / "src" / "generated" / ".gitignore", "*.py\n!keep.py\n")


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@needs_git
def test_inside_a_git_work_tree_git_decides(tmp_path: Path) -> None:
    make_project(tmp_path)
    git(tmp_path, "init", "-q")
    write(tmp_path / "tracked-but-ignored.log", ID_LINE)
    git(tmp_path, "add", "-f", "tracked-but-ignored.log")
    findings = list(scan_paths([tmp_path], jobs=1))
    assert rel(findings, tmp_path) == [
        "app.py",
        "src/generated/keep.py",
        "src/svc/handler.ts",
        "tracked-but-ignored.log",  # tracked files are read even when a pattern matches them
    ]


@needs_git
def test_a_subdirectory_of_a_work_tree_lists_only_itself(tmp_path: Path) -> None:
    make_project(tmp_path)
    git(tmp_path, "init", "-q")
    findings = list(scan_paths([tmp_path / "src"], jobs=1))
    assert rel(findings, tmp_path) == ["src/generated/keep.py", "src/svc/handler.ts"]


def test_outside_git_gitignore_files_are_honoured(tmp_path: Path) -> None:
    pytest.importorskip("pathspec")
    make_project(tmp_path)
    findings = list(scan_paths([tmp_path], jobs=1))
    assert rel(findings, tmp_path) == ["app.py", "src/generated/keep.py", "src/svc/handler.ts"]


def test_without_git_on_path_the_walk_takes_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pathspec")
    make_project(tmp_path)
    if shutil.which("git") is not None:
        git(tmp_path, "init", "-q")
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-bin"))
    findings = list(scan_paths([tmp_path], jobs=1))
    assert rel(findings, tmp_path) == ["app.py", "src/generated/keep.py", "src/svc/handler.ts"]


def test_without_pathspec_only_the_usual_directories_are_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(tmp_path)
    write(tmp_path / ".venv" / "lib" / "x.py", ID_LINE)
    write(tmp_path / "pkg" / "__pycache__" / "x.pyc.txt", ID_LINE)
    write(tmp_path / ".git" / "config", ID_LINE)
    monkeypatch.setitem(sys.modules, "pathspec", None)  # makes "import pathspec" fail
    findings = list(scan_paths([tmp_path], jobs=1))
    assert rel(findings, tmp_path) == [
        "app.py",
        "build/out.js",
        "debug.log",
        "src/generated/drop.py",
        "src/generated/keep.py",
        "src/svc/handler.ts",
    ]


def test_respect_gitignore_false_reads_ignored_files_but_never_dot_git(tmp_path: Path) -> None:
    make_project(tmp_path)
    write(tmp_path / ".git" / "config", ID_LINE)
    findings = list(scan_paths([tmp_path], respect_gitignore=False, jobs=1))
    assert rel(findings, tmp_path) == [
        "app.py",
        "build/out.js",
        "debug.log",
        "node_modules/lib/index.js",
        "src/generated/drop.py",
        "src/generated/keep.py",
        "src/svc/handler.ts",
    ]


def test_a_file_named_explicitly_is_read_even_if_ignored(tmp_path: Path) -> None:
    make_project(tmp_path)
    findings = list(scan_paths([tmp_path / "debug.log"], jobs=1))
    assert [f.path for f in findings] == [str(tmp_path / "debug.log")]


def test_binaries_huge_and_missing_files_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / "image.bin", b"\x89PNG\x00\x00" + ID_LINE.encode())
    write(tmp_path / "late-nul.txt", ID_LINE.encode() + b"x" * 9000 + b"\x00")
    write(tmp_path / "big.txt", "x" * 200 + ID_LINE)
    write(tmp_path / "small.txt", ID_LINE)
    findings = list(scan_paths([tmp_path, tmp_path / "missing"], max_file_bytes=150, jobs=1))
    assert rel(findings, tmp_path) == ["small.txt"]
    # a NUL byte past the first 8 KiB does not make a file binary
    findings = list(scan_paths([tmp_path], jobs=1))
    assert rel(findings, tmp_path) == ["big.txt", "late-nul.txt", "small.txt"]


def test_the_size_limit_is_inclusive(tmp_path: Path) -> None:
    write(tmp_path / "exact.txt", ID_LINE)
    size = len(ID_LINE.encode())
    assert len(list(scan_paths([tmp_path], max_file_bytes=size, jobs=1))) == 1
    assert list(scan_paths([tmp_path], max_file_bytes=size - 1, jobs=1)) == []


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlinks_out_of_the_tree_are_not_followed(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside" / "secret.py", ID_LINE)
    root = tmp_path / "root"
    write(root / "real.py", ID_LINE)
    (root / "link-out.py").symlink_to(outside)
    (root / "dir-out").symlink_to(outside.parent, target_is_directory=True)
    (root / "link-in.py").symlink_to(root / "real.py")
    findings = list(scan_paths([root], jobs=1))
    assert rel(findings, root) == ["link-in.py", "real.py"]


def test_a_read_error_skips_the_file_and_logs_at_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Opening a directory for reading works on POSIX, reading it fails: the same path as an
    # unreadable file, and one that root cannot bypass.
    caplog.set_level(logging.DEBUG, logger="bedrock_lifecycle._scan")
    assert _scan_file(str(tmp_path), 1 << 20) == []
    assert _scan_file(str(tmp_path / "missing.py"), 1024) == []
    assert [r.getMessage() for r in caplog.records] == [
        "bedrock_lifecycle.scan_skip_unreadable"
    ] * 2
    assert all(r.levelno == logging.DEBUG for r in caplog.records)


def test_paths_keep_the_root_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "src" / "app.py", ID_LINE)
    monkeypatch.chdir(tmp_path)
    assert [f.path for f in scan_paths(["."], jobs=1)] == [os.path.join("src", "app.py")]
    assert [f.path for f in scan_paths(["./src/"], jobs=1)] == [os.path.join("src", "app.py")]
    # the same file reached twice is reported once
    assert [f.path for f in scan_paths(["src", ".", "src/app.py"], jobs=1)] == [
        os.path.join("src", "app.py")
    ]


# --- order, progress, processes ------------------------------------------------------------------


def make_tree(root: Path, files: int) -> None:
    for index in reversed(range(files)):
        body = f"# file {index}\n" + (ID_LINE * (index % 3)) + "x = 1\n"
        write(root / f"d{index % 7}" / f"f{index:04d}.py", body)


def test_order_is_by_path_line_column_and_repeatable(tmp_path: Path) -> None:
    make_tree(tmp_path, 60)
    first = list(scan_paths([tmp_path], jobs=1))
    keys = [(f.path, f.line, f.column) for f in first]
    assert keys == sorted(keys)
    assert len(first) == sum(index % 3 for index in range(60))
    assert list(scan_paths([tmp_path], jobs=1)) == first


@pytest.mark.slow
def test_worker_processes_give_the_same_answer(tmp_path: Path) -> None:
    make_tree(tmp_path, 300)
    assert list(scan_paths([tmp_path], jobs=2)) == list(scan_paths([tmp_path], jobs=1))


def test_progress_is_reported_up_to_the_total(tmp_path: Path) -> None:
    make_tree(tmp_path, 600)
    calls: list[tuple[int, int]] = []
    list(scan_paths([tmp_path], jobs=1, progress=lambda done, total: calls.append((done, total))))
    assert calls[0] == (0, 600)
    assert calls[-1] == (600, 600)
    assert len(calls) >= 3  # reported along the way, not only at the ends
    assert all(total == 600 for _, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_progress_on_an_empty_tree(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    assert list(scan_paths([tmp_path], progress=lambda d, t: calls.append((d, t)))) == []
    assert calls == [(0, 0)]


def test_bad_arguments(tmp_path: Path) -> None:
    # checked when called, not when first iterated
    with pytest.raises(TypeError):
        scan_paths(str(tmp_path))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="jobs"):
        scan_paths([tmp_path], jobs=0)
    with pytest.raises(ValueError, match="max_file_bytes"):
        scan_paths([tmp_path], max_file_bytes=-1)


# --- the fast path agrees with the plain regex ---------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "anthropic.",
        "amazon.",
        "meta.",
        "moonshot.",
        "moonshotai.",
        "us.",
        "us-gov.",
        "apac.",
        "arn:aws:bedrock:us-east-1:",
        "123456789012:",
        "arn%3Aaws%3Abedrock%3A",
        "foundation-model/",
        "inference-profile%2F",
        "claude-3-haiku-20240307",
        "-v1",
        ":0",
        "%3A0",
        "-",
        ".",
        ":",
        "/",
        " ",
        "\n",
        "\r\n",
        "é",
        "😀",
        "x",
        "7",
        "_",
        '"',
    ]
)


def reference_matches(data: bytes) -> list[tuple[int, int, int, str]]:
    """The slow, obvious way: finditer over the whole text, positions from decoded lines."""
    out = []
    for match in _ID_RE.finditer(data):
        before = data[: match.start()].decode("utf-8")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        text = match.group().decode("ascii")
        out.append((line, column, column + len(text), text))
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=40))
def test_candidate_search_finds_what_the_full_regex_finds(parts: list[str]) -> None:
    data = "".join(parts).encode("utf-8")
    assert _matches_in(data) == reference_matches(data)
