"""Canonical bytes and digests for anything JEVS hashes or compares.

The values JEVS hashes hold only strings, integers, booleans, nulls, lists and objects (decimals and
dates travel as strings), so sorted keys, no insignificant whitespace and UTF-8 give the same bytes as
RFC 8785 (JSON Canonicalization Scheme) would.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic_core import to_jsonable_python


def canonical_json(value: Any) -> bytes:
    # Models (also nested in dicts) become their JSON form first: decimals and dates as strings.
    value = to_jsonable_python(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def digest(value: Any) -> str:
    """SHA-256 of the canonical JSON, as lowercase hex."""
    return hashlib.sha256(canonical_json(value)).hexdigest()
