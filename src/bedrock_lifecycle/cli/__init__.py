"""The ``bedrock-lifecycle`` command line (``python -m bedrock_lifecycle.cli`` works too).

A client of the library's public API: ``status``, ``scan``, ``timeline``, ``costs``,
``refresh``, ``check``, ``demo`` and ``fake-server``. See ``docs/cli.md``.
"""

from __future__ import annotations

from ._app import build_parser, main

__all__ = ["build_parser", "main"]
