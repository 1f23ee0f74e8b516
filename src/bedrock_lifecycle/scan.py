"""Finding model ids in source trees (behind ``bedrock-lifecycle scan``).

Public, but kept out of the top-level namespace so that ``import bedrock_lifecycle`` does not
load the process-pool machinery the scanner uses::

    from bedrock_lifecycle.scan import scan_paths, ScanResult, to_sarif
"""

from __future__ import annotations

from ._sarif import SARIF_SCHEMA_URI, SARIF_VERSION, to_sarif
from ._scan import DEFAULT_MAX_FILE_BYTES, PROVIDERS, Finding, ScanResult, scan_paths

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "PROVIDERS",
    "SARIF_SCHEMA_URI",
    "SARIF_VERSION",
    "Finding",
    "ScanResult",
    "scan_paths",
    "to_sarif",
]
