"""Build every Lambda asset into ``build/`` without Docker: ``make build`` runs ``python -m infrastructure.build``.

Each asset is a folder the CDK stack hands to ``lambda.Code.from_asset`` (``ASSET_PATHS`` names them all):

- ``layers/dependencies``: ``python/`` holding the runtime dependencies pinned in requirements-lambda.lock,
  installed as wheels for the Lambda runtime's Python and CPU, without boto3 and its dependencies (the
  runtime ships them);
- ``layers/jevs``: ``python/jevs``, the domain layer as it is in the repository, reference data included;
- ``functions/<name>``: ``functions/__init__.py`` and ``functions/<name>/``, so the handler is
  ``functions.<name>.handler.handler``.

Every ``.py`` is byte-compiled by the runtime's own interpreter, hash-based and unchecked: Lambda's file
systems are read-only, so a module without its ``.pyc`` is compiled again at every cold start. The ``.pyc``
files name their sources by the paths Lambda will see (``/opt/python/...``, ``/var/task/...``) and carry no
time stamp, so the same sources always give the same bytes and the same CDK asset hash.

A build first removes every earlier asset, then builds each in a staging folder and moves it into place only
when complete: after a failed build, ``cdk synth`` finds an asset missing rather than a stale or half-built one.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

# The Lambda runtime the assets are built for; the CDK stack imports both. 3.13 although the CDK library also
# offers python3.14: the build byte-compiles with the runtime's own interpreter (bytecode is specific to a
# minor version), and 3.13 is the newest Python the build machines have (3.14 is not installed on them).
# Moving to 3.14 means installing it where `make build` runs, changing this constant and running `make lock`.
LAMBDA_PYTHON = "3.13"
LAMBDA_ARCHITECTURE = "arm64"

# The names pip, uv and ELF headers give the architecture. manylinux_2_28 (glibc 2.28) is older than the
# runtime's Amazon Linux 2023 (glibc 2.34), so every wheel it accepts loads there; some dependencies
# (rapidfuzz) publish no older aarch64 wheels.
_MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
_ELF_MACHINES = {"aarch64": 183, "x86_64": 62}
MACHINE = _MACHINES[LAMBDA_ARCHITECTURE]
# pip takes each accepted tag once: the 2.28 tag and the older 2.17 (manylinux2014) ones below it.
PIP_PLATFORMS = (f"manylinux_2_28_{MACHINE}", f"manylinux2014_{MACHINE}")
UV_PLATFORM = f"{MACHINE}-manylinux_2_28"

# Distributions the Lambda Python runtime already has (boto3 and everything it depends on, and SnapStart's runtime
# hooks, snapshot-restore-py); requirements-lambda.lock leaves them out. The Makefile's LAMBDA_RUNTIME_PROVIDED, which
# writes the lock, holds the same list.
RUNTIME_PROVIDED = (
    "boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six", "snapshot-restore-py",
)  # fmt: skip
# The modules those distributions provide, for checking imports against what Lambda will have.
RUNTIME_PROVIDED_MODULES = (
    "boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six", "snapshot_restore_py",
)  # fmt: skip

LAMBDA_LOCK = "requirements-lambda.lock"
PYTHON_ENV_VAR = "JEVS_LAMBDA_PYTHON"

MIB = 1024 * 1024
# Lambda's hard quota: a function's code and all its layers, unzipped, at most 250 MiB.
LAMBDA_UNZIPPED_LIMIT = 250 * MIB
# Our own budgets, unzipped: room to grow by a third, so that a heavy new dependency is a decision, not a surprise.
# Measured when they were set: dependencies 67.2 MiB (pycountry 21.4 MiB, of which 19.9 MiB are translations we
# never load; cryptography 14.0 MiB; holidays 9.3 MiB; powertools 5.8 MiB; pydantic-core 4.7 MiB), domain layer
# 0.8 MiB, each function under 0.1 MiB. The domain layer has since grown to 3.0 MiB (1.3 MiB before the font):
# 1.6 MiB of it is the CJK font the certificate PDF embeds, a subset (jevs/documents/fonts), as the whole face,
# 4.4 MiB, would all but fill the budget.
DEPENDENCIES_LAYER_BUDGET = 90 * MIB
DOMAIN_LAYER_BUDGET = 5 * MIB
FUNCTION_BUDGET = 1 * MIB

# Where Lambda puts each kind of asset: layers under /opt, function code under /var/task.
_LAYER_ROOT = "/opt"
_FUNCTION_ROOT = "/var/task"

ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = "build"
DEPENDENCIES_LAYER = "layers/dependencies"
DOMAIN_LAYER = "layers/jevs"

# Never part of an asset copied from the repository.
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*", "tests", "test_*.py", "conftest.py")


class BuildError(Exception):
    """The assets cannot be built as asked; the message says why and what to do."""


@dataclass(frozen=True)
class AssetSize:
    name: str
    path: Path
    files: int
    unzipped_bytes: int
    zipped_bytes: int
    budget_bytes: int
    digest: str  # SHA-256 over every file's relative path and content: equal builds, equal digests

    @property
    def within_budget(self) -> bool:
        return self.unzipped_bytes <= self.budget_bytes


def function_names(root: Path) -> list[str]:
    """Every function: each folder under functions/ whose name is a Python identifier (not a dunder)."""
    functions = root / "functions"
    return sorted(
        entry.name
        for entry in functions.iterdir()
        if entry.is_dir() and entry.name.isidentifier() and not entry.name.startswith("__")
    )


def asset_paths(root: Path) -> dict[str, Path]:
    """Asset name → the folder ``make build`` writes it to; the name is the folder relative to build/."""
    build = root / BUILD_DIR
    names = [DEPENDENCIES_LAYER, DOMAIN_LAYER, *(f"functions/{name}" for name in function_names(root))]
    return {name: build / name for name in names}


ASSET_PATHS: Mapping[str, Path] = asset_paths(ROOT)


def budget_of(name: str) -> int:
    if name == DEPENDENCIES_LAYER:
        return DEPENDENCIES_LAYER_BUDGET
    if name == DOMAIN_LAYER:
        return DOMAIN_LAYER_BUDGET
    return FUNCTION_BUDGET


# --- the runtime's interpreter ------------------------------------------------------------------------------


def _reports_lambda_python(candidate: Path) -> bool:
    probe = (
        "import sys, sysconfig; print(sys.implementation.name, '%d.%d' % sys.version_info[:2],"
        " bool(sysconfig.get_config_var('Py_GIL_DISABLED')))"
    )
    try:
        result = subprocess.run(  # noqa: S603 - an interpreter we were pointed at, with a fixed probe
            [str(candidate), "-I", "-c", probe], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return False
    return result.returncode == 0 and result.stdout.split() == ["cpython", LAMBDA_PYTHON, "False"]


def _pyenv_candidates() -> Iterator[Path]:
    """pyenv's installed 3.13.x, newest first: its shim on PATH answers only where that version is selected."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    pattern = re.compile(rf"{re.escape(LAMBDA_PYTHON)}\.(\d+)")
    found = [(int(m.group(1)), d) for d in versions.glob(f"{LAMBDA_PYTHON}.*") if (m := pattern.fullmatch(d.name))]
    for _, folder in sorted(found, reverse=True):
        yield folder / "bin" / f"python{LAMBDA_PYTHON}"


def find_lambda_python() -> Path:
    """The CPython ``LAMBDA_PYTHON`` that byte-compiles the assets: $JEVS_LAMBDA_PYTHON, else python3.13 on
    PATH, else pyenv's. Fails with what was tried, because bytecode from any other version is useless."""
    configured = os.environ.get(PYTHON_ENV_VAR)
    if configured:
        if _reports_lambda_python(Path(configured)):
            return Path(configured)
        raise BuildError(f"{PYTHON_ENV_VAR}={configured} is not a working CPython {LAMBDA_PYTHON} (GIL build)")
    tried: list[str] = []
    on_path = shutil.which(f"python{LAMBDA_PYTHON}")
    for candidate in [*([Path(on_path)] if on_path else []), *_pyenv_candidates()]:
        if _reports_lambda_python(candidate):
            return candidate
        tried.append(str(candidate))
    raise BuildError(
        f"no working CPython {LAMBDA_PYTHON}, which byte-compiles for the Lambda runtime python{LAMBDA_PYTHON}"
        f" (tried: {', '.join(tried) or 'nothing found'}). Install it (e.g. `pyenv install {LAMBDA_PYTHON}`) or"
        f" point {PYTHON_ENV_VAR} at one."
    )


# Data the layer never reads, left out of it: pycountry's translations of country and currency names
# (about 20 MiB of .mo files; JEVS prints names in English only, and pycountry falls back to them).
UNUSED_DATA = ("pycountry/locales",)

# --- the lock -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockOptions:
    python_version: str | None
    python_platform: str | None
    excluded: frozenset[str]


def lock_options(lock: Path) -> LockOptions:
    """The options uv wrote the lock with, read from the command line it records in the lock's header."""
    command = next((line[1:].strip() for line in lock.read_text().splitlines() if "uv pip compile" in line), "")
    words = shlex.split(command)
    values: dict[str, str] = {}
    excluded: set[str] = set()
    for option, value in itertools.pairwise(words):
        if option == "--no-emit-package":
            excluded.add(value)
        elif option.startswith("--"):
            values[option] = value
    return LockOptions(values.get("--python-version"), values.get("--python-platform"), frozenset(excluded))


def check_lock(root: Path) -> Path:
    lock = root / LAMBDA_LOCK
    if not lock.is_file():
        raise BuildError(f"{LAMBDA_LOCK} is missing: run `make lock`")
    options = lock_options(lock)
    expected = LockOptions(LAMBDA_PYTHON, UV_PLATFORM, frozenset(RUNTIME_PROVIDED))
    if options != expected:
        raise BuildError(f"{LAMBDA_LOCK} was compiled for {options}, the build needs {expected}: run `make lock`")
    return lock


# --- building -----------------------------------------------------------------------------------------------


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - built here
    if result.returncode != 0:
        raise BuildError(f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}")


def _install_dependencies(root: Path, staging: Path) -> None:
    target = staging / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar=off",
            *(f"--platform={platform}" for platform in PIP_PLATFORMS),
            "--only-binary=:all:",
            f"--python-version={LAMBDA_PYTHON}",
            "--implementation=cp",
            "--no-compile",
            "--no-deps",
            "--require-hashes",
            f"--target={target}",
            "--requirement",
            str(check_lock(root)),
        ],
        "pip install of the dependencies layer",
    )
    # Console scripts: their first line names this machine's interpreter, and Lambda never runs them.
    shutil.rmtree(target / "bin", ignore_errors=True)
    for unused in UNUSED_DATA:
        shutil.rmtree(target / unused, ignore_errors=True)
    present = {_normalise(p.name.split("-")[0]) for p in target.glob("*.dist-info")}
    if provided := present & {_normalise(name) for name in RUNTIME_PROVIDED}:
        raise BuildError(f"the dependencies layer would carry what the runtime ships: {sorted(provided)}")
    _check_native_code(target)


def _normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _check_native_code(tree: Path) -> None:
    """Every shared library is an ELF file for the runtime's CPU (an abi3 library's name does not say)."""
    wrong = []
    for library in sorted(tree.rglob("*.so")):
        header = library.read_bytes()[:20]
        if header[:4] != b"\x7fELF" or int.from_bytes(header[18:20], "little") != _ELF_MACHINES[MACHINE]:
            wrong.append(str(library.relative_to(tree)))
    if wrong:
        raise BuildError(f"native code not built for {MACHINE}: {', '.join(wrong)}")


def _copy_domain_layer(root: Path, staging: Path) -> None:
    shutil.copytree(root / "layers" / "jevs" / "python" / "jevs", staging / "python" / "jevs", ignore=_IGNORED)


def _copy_function(root: Path, name: str, staging: Path) -> None:
    source = root / "functions"
    if not (source / name / "handler.py").is_file():
        raise BuildError(f"functions/{name} has no handler.py: the stack's handler is functions.{name}.handler.handler")
    (staging / "functions").mkdir(parents=True)
    shutil.copy2(source / "__init__.py", staging / "functions" / "__init__.py")
    shutil.copytree(source / name, staging / "functions" / name, ignore=_IGNORED)


def byte_compile(python: Path, tree: Path, runtime_root: str) -> None:
    """Compile every .py under tree with the runtime's interpreter, naming sources as Lambda will see them."""
    for cache in sorted(tree.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)
    _run(
        [
            str(python),
            "-I",
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(tree),
            "-p",
            runtime_root,
            str(tree),
        ],
        f"byte-compiling {tree}",
    )


def _filler(root: Path, name: str) -> tuple[Callable[[Path], None], str]:
    """How to fill an asset's staging folder, and where Lambda will put its files."""
    if name == DEPENDENCIES_LAYER:
        return functools.partial(_install_dependencies, root), _LAYER_ROOT
    if name == DOMAIN_LAYER:
        return functools.partial(_copy_domain_layer, root), _LAYER_ROOT
    return functools.partial(_copy_function, root, name.removeprefix("functions/")), _FUNCTION_ROOT


def _build_asset(root: Path, name: str, destination: Path, python: Path | None) -> AssetSize:
    fill, runtime_root = _filler(root, name)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    try:
        staging.chmod(0o755)  # Lambda runs code as another user than the files' owner
        fill(staging)
        if python is not None:
            byte_compile(python, staging, runtime_root)
        staging.rename(destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return measure(name, destination, budget_of(name))


def lambda_python_or_none() -> Path | None:
    """The runtime's interpreter if this machine has one. Without it the assets are still right, only
    uncompiled: Lambda then compiles each module at every cold start, which costs time, not correctness."""
    try:
        return find_lambda_python()
    except BuildError as missing:
        if os.environ.get(PYTHON_ENV_VAR):
            raise
        print(f"warning: building without bytecode: {missing}", file=sys.stderr, flush=True)
        return None


def build_all(root: Path) -> dict[str, AssetSize]:
    """Build every asset of ``asset_paths(root)`` from scratch and measure it. Raises BuildError."""
    python = lambda_python_or_none()
    check_lock(root)
    paths = asset_paths(root)
    _clear_assets(root)
    sizes: dict[str, AssetSize] = {}
    for name, destination in paths.items():
        print(f"building {name}", flush=True)
        sizes[name] = _build_asset(root, name, destination, python)
    return sizes


def _clear_assets(root: Path) -> None:
    """Every build starts from nothing: no asset of an earlier build, of a removed function, or of an
    interrupted run survives to be deployed next to this build's."""
    for kind in ("layers", "functions"):
        shutil.rmtree(root / BUILD_DIR / kind, ignore_errors=True)


# --- measuring ----------------------------------------------------------------------------------------------


def measure(name: str, path: Path, budget_bytes: int) -> AssetSize:
    """Files, bytes unzipped, bytes zipped (deflate, as CDK uploads a folder asset) and a content digest."""
    files = sorted(p for p in path.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    unzipped = 0
    with tempfile.TemporaryFile() as buffer:
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file in files:
                relative = file.relative_to(path).as_posix()
                content = file.read_bytes()
                unzipped += len(content)
                digest.update(relative.encode() + b"\0" + hashlib.sha256(content).digest())
                archive.writestr(relative, content)
        zipped = buffer.tell()
    return AssetSize(name, path, len(files), unzipped, zipped, budget_bytes, digest.hexdigest())


def budget_problems(sizes: Mapping[str, AssetSize]) -> list[str]:
    """Every budget broken: an asset over its own, or a function whose code and layers pass Lambda's quota."""
    problems = [
        f"{size.name}: {_mib(size.unzipped_bytes)} unzipped, budget {_mib(size.budget_bytes)}"
        for size in sizes.values()
        if not size.within_budget
    ]
    layers = sum(size.unzipped_bytes for name, size in sizes.items() if name.startswith("layers/"))
    for name, size in sizes.items():
        if name.startswith("functions/") and size.unzipped_bytes + layers > LAMBDA_UNZIPPED_LIMIT:
            problems.append(
                f"{name}: {_mib(size.unzipped_bytes + layers)} with its layers, Lambda's limit is"
                f" {_mib(LAMBDA_UNZIPPED_LIMIT)}"
            )
    return problems


def _mib(size: int) -> str:
    return f"{size / MIB:.1f} MiB"


def _human(size: int) -> str:
    return _mib(size) if size >= MIB else f"{size / 1024:.1f} KiB"


def format_table(sizes: Mapping[str, AssetSize]) -> str:
    rows = [("asset", "files", "unzipped bytes", "zipped bytes", "unzipped", "zipped", "budget", "", "sha256")]
    for size in sizes.values():
        rows.append(
            (
                size.name,
                str(size.files),
                f"{size.unzipped_bytes:,}",
                f"{size.zipped_bytes:,}",
                _human(size.unzipped_bytes),
                _human(size.zipped_bytes),
                _human(size.budget_bytes),
                "ok" if size.within_budget else "OVER",
                size.digest[:12],
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(width) if column in (0, len(row) - 1) else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def main() -> int:
    started = time.monotonic()
    try:
        sizes = build_all(ROOT)
    except BuildError as error:
        print(f"build failed: {error}", file=sys.stderr)
        return 1
    print(format_table(sizes))
    print(f"Lambda python{LAMBDA_PYTHON} on {LAMBDA_ARCHITECTURE}; built in {time.monotonic() - started:.1f} s")
    if problems := budget_problems(sizes):
        print("over budget:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
