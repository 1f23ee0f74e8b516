"""``python -m bedrock_lifecycle``: the command line."""

from __future__ import annotations

from bedrock_lifecycle.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
