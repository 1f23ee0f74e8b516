"""``python -m bedrock_lifecycle.cli``."""

from __future__ import annotations

from bedrock_lifecycle.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
