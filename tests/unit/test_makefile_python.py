"""The Makefile refuses a Python older than the project supports, before it makes any venv, saying which one it
found (issue 15, build 6). Run on a copy of the Makefile with stand-in interpreters, so nothing is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")


def _interpreter(folder: Path, version: str, old: bool) -> Path:
    """A stand-in ``python``: answers ``--version`` with ``version``, the Makefile's version probe with whether it
    is ``old``, and records any other call (making a venv) instead of doing it."""
    script = folder / f"python{version}"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = --version ]; then echo "Python {version}"; exit 0; fi\n'
        f'if [ "$1" = -c ]; then exit {1 if old else 0}; fi\n'
        'echo "called with: $*"; exit 3\n'
    )
    script.chmod(0o755)
    return script


def _make_venv(tmp_path: Path, python: Path) -> subprocess.CompletedProcess[str]:
    for name in ("Makefile", "pyproject.toml", "requirements.lock", "requirements-uv.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    assert MAKE is not None
    return subprocess.run(  # noqa: S603 - make, on a copy of the project's Makefile
        [MAKE, "-C", str(tmp_path), "venv", f"PYTHON={python}"], capture_output=True, text=True, check=False
    )


def test_a_python_older_than_3_11_is_refused_before_any_venv_is_made(tmp_path: Path) -> None:
    result = _make_venv(tmp_path, _interpreter(tmp_path, "3.10.13", old=True))

    assert result.returncode != 0
    assert f"JEVS needs Python 3.11 or newer; '{tmp_path}/python3.10.13' is Python 3.10.13." in result.stderr
    assert "called with" not in result.stdout
    assert not (tmp_path / ".venv-uv").exists()
    assert not (tmp_path / ".venv").exists()


def test_a_missing_python_is_named_as_not_found(tmp_path: Path) -> None:
    result = _make_venv(tmp_path, tmp_path / "python3.11")

    assert result.returncode != 0
    assert f"'{tmp_path}/python3.11' is not found." in result.stderr


def test_a_supported_python_goes_on_to_make_the_venvs(tmp_path: Path) -> None:
    result = _make_venv(tmp_path, _interpreter(tmp_path, "3.11.7", old=False))

    assert "JEVS needs" not in result.stderr
    assert "called with: -m venv .venv-uv" in result.stdout
