"""``python -m functions.api.openapi_document``: write the API's OpenAPI document to ``docs/openapi.json`` (``make
openapi``), the copy partners read and compare between versions. It carries the local stack's token URL
(``documentation.DEFAULT_TOKEN_URL``); the API serves the same document with the token URL of where it runs.
A test fails when the code and this copy differ."""

from __future__ import annotations

import sys
from pathlib import Path

from functions.api.handler import openapi_document

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def main() -> int:
    COMMITTED.write_text(openapi_document(), encoding="utf-8")
    print(f"wrote {COMMITTED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
