"""The floors of the code (README, Inside): each imports only from the floors above it. Read from the source
with ``ast``, so a forbidden import fails here before anyone has to notice it in review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "jevs" / "python" / "jevs"

# What each floor may import, besides the standard library and third-party libraries its own rules allow.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # The domain knows nothing of AWS, HTTP, storage or the use cases.
    "domain": ("jevs.service", "jevs.adapters", "jevs.bootstrap", "jevs.settings", "boto3", "botocore", "httpx"),
    # The use cases know their ports, never an adapter, AWS or the composition.
    "service": ("jevs.adapters", "jevs.bootstrap", "jevs.settings", "boto3", "botocore", "httpx"),
    # Adapters translate; they never reach up into the composition or the functions.
    "adapters": ("jevs.bootstrap", "functions", "infrastructure"),
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("floor", sorted(FORBIDDEN))
def test_each_floor_imports_nothing_from_below_it(floor: str) -> None:
    offending = {
        f"{path.relative_to(PACKAGE)}: {imported}"
        for path in (PACKAGE / floor).rglob("*.py")
        for imported in _imports(path)
        if any(imported == banned or imported.startswith(f"{banned}.") for banned in FORBIDDEN[floor])
    }

    assert offending == set()


def test_the_layer_never_imports_the_functions_or_the_infrastructure() -> None:
    offending = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(name.split(".")[0] in ("functions", "infrastructure") for name in _imports(path))
    }

    assert offending == set()
