"""Build every Lambda asset into ``build/`` without Docker: ``make build`` runs ``python -m infrastructure.build``.

Each asset is a folder the CDK stack hands to ``lambda.Code.from_asset`` (``ASSET_PATHS`` names them all):

- ``layers/<name>``, one per ``jevs.resources.LAYERS``: ``python/`` holding that layer's share of the runtime
  dependencies pinned in requirements-lambda.lock (each locked distribution in exactly one layer), installed as
  wheels for the Lambda runtime's Python and CPU, without boto3 and its dependencies (the runtime ships them),
  and any data of the domain package only that layer's users read (the PDF's font);
- ``layers/jevs``: ``python/jevs``, the domain layer as it is in the repository, reference data included, less the
  data a dependency layer carries;
- ``functions/<name>``: ``functions/__init__.py`` and ``functions/<name>/``, so the handler is
  ``functions.<name>.handler.handler``.

Each function gets the domain layer and the dependency layers its ``FunctionDefinition.layers`` names, nothing else
(README "Packaging"). The build checks that this is enough: every distribution a layer holds finds what it requires
in the layers of each function that has it (the lock says who requires what), and every module a function's
handler imports when it loads (its own package's imports, and the domain modules those import at module level) is
in the standard library, in what the runtime ships, in the domain layer or in one of its layers. A module only one
function needs is therefore imported where it is used, not at the top of a module every function loads.

Every ``.py`` is byte-compiled by the runtime's own interpreter, hash-based and unchecked: Lambda's file
systems are read-only, so a module without its ``.pyc`` is compiled again at every cold start. The ``.pyc``
files name their sources by the paths Lambda will see (``/opt/python/...``, ``/var/task/...``) and carry no
time stamp, so the same sources always give the same bytes and the same CDK asset hash.

A build first removes every earlier asset, then builds each in a staging folder and moves it into place only
when complete: after a failed build, ``cdk synth`` finds an asset missing rather than a stale or half-built one.
"""

from __future__ import annotations

import ast
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jevs.resources import FUNCTIONS, LAYERS, FunctionDefinition, LayerDefinition

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
# What counts is each function's whole package, its code, the domain layer and its dependency layers
# (FunctionDefinition.package_budget_mib, where the sizes they were set from are noted); the domain layer and each
# function's code have budgets of their own besides. Measured when they were set: domain layer 0.8 MiB, each
# function under 0.1 MiB. The domain layer has since grown to 2.0 MiB without the CJK font the certificate PDF
# embeds, a subset (1.6 MiB, jevs/documents/fonts), which the PDF layer carries; the API's code is 0.5 MiB.
DOMAIN_LAYER_BUDGET = 5 * MIB
FUNCTION_BUDGET = 1 * MIB

# Where Lambda puts each kind of asset: layers under /opt, function code under /var/task.
_LAYER_ROOT = "/opt"
_FUNCTION_ROOT = "/var/task"

ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = "build"
DOMAIN_LAYER = "layers/jevs"
# The dependency layers by asset name (``layers/<name>``).
DEPENDENCY_LAYERS: Mapping[str, LayerDefinition] = {layer.asset: layer for layer in LAYERS}

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
    names = [*DEPENDENCY_LAYERS, DOMAIN_LAYER, *(f"functions/{name}" for name in function_names(root))]
    return {name: build / name for name in names}


ASSET_PATHS: Mapping[str, Path] = asset_paths(ROOT)


def function_assets(definition: FunctionDefinition) -> list[str]:
    """Every asset a function is deployed with: its dependency layers, the domain layer, its own code."""
    return [*(layer.asset for layer in definition.layers), DOMAIN_LAYER, f"functions/{definition.folder}"]


def budget_of(name: str) -> int:
    """An asset's own budget. A dependency layer has none but Lambda's quota: the budgets of the functions that
    carry it hold it (``package_problems``)."""
    if name in DEPENDENCY_LAYERS:
        return LAMBDA_UNZIPPED_LIMIT
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
    if problems := layer_problems(lock.read_text(), LAYERS, FUNCTIONS):
        raise BuildError("the layers of jevs.resources do not fit the lock:\n  " + "\n  ".join(problems))
    return lock


_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==\S+")


@dataclass(frozen=True)
class LockedDistribution:
    name: str  # normalised
    block: str  # its lines in the lock: the pin, its hashes and the comment saying who requires it
    required_by: frozenset[str]  # normalised names of the locked distributions that require it


def locked_distributions(lock_text: str) -> dict[str, LockedDistribution]:
    """Each distribution of a uv-compiled lock, by normalised name, with its block and who requires it (its
    ``# via`` comment; the project and the constraints file are not distributions)."""
    blocks: list[list[str]] = []
    for line in lock_text.splitlines():
        if _PIN.match(line):
            blocks.append([line])
        elif blocks and line.startswith(" "):
            blocks[-1].append(line)
    found = {}
    for lines in blocks:
        match = _PIN.match(lines[0])
        assert match is not None
        via = [line.strip().removeprefix("#").strip() for line in lines if line.lstrip().startswith("#")]
        via = [entry.removeprefix("via").strip() for entry in via]
        required_by = {_normalise(entry) for entry in via if entry and " " not in entry and not entry.startswith("-")}
        name = _normalise(match.group(1))
        found[name] = LockedDistribution(name, "\n".join(lines), frozenset(required_by))
    return found


def layer_problems(
    lock_text: str, layers: Sequence[LayerDefinition], functions: Sequence[FunctionDefinition]
) -> list[str]:
    """Why the layers cannot be built from the lock as the functions use them: a locked distribution in no layer
    or in two, a layer naming one the lock does not hold, or a function whose layers hold a distribution without
    one it requires (the lock's ``# via``: the requirement's block names the distribution that requires it)."""
    locked = locked_distributions(lock_text)
    problems = []
    holders: dict[str, list[str]] = {}
    for layer in layers:
        for distribution in layer.distributions:
            holders.setdefault(_normalise(distribution), []).append(layer.name)
    for name in sorted(locked.keys() - holders.keys()):
        problems.append(f"{name} is locked but in no layer: add it to one in jevs.resources")
    for name, where in sorted(holders.items()):
        if name not in locked:
            problems.append(f"{name} is in layer {', '.join(where)} but not in {LAMBDA_LOCK}")
        if len(where) > 1:
            problems.append(f"{name} is in {len(where)} layers ({', '.join(where)}): one only")
    for function in functions:
        carried = {_normalise(d) for layer in function.layers for d in layer.distributions}
        for requirement in sorted(locked.keys() - carried):
            missing_for = sorted(locked[requirement].required_by & carried)
            if missing_for:
                problems.append(
                    f"{function.name}: {', '.join(missing_for)} requires {requirement}, which none of its layers holds"
                )
    return problems


# --- building -----------------------------------------------------------------------------------------------


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - built here
    if result.returncode != 0:
        raise BuildError(f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}")


def _install_dependencies(root: Path, layer: LayerDefinition, staging: Path) -> None:
    target = staging / "python"
    locked = locked_distributions(check_lock(root).read_text())
    requirements = staging.parent / f".{layer.name}-requirements.txt"
    requirements.write_text("".join(locked[_normalise(name)].block + "\n" for name in layer.distributions))
    try:
        _pip_install(requirements, target, layer.name)
    finally:
        requirements.unlink()
    for folder in layer.domain_data:
        shutil.copytree(root / "layers" / "jevs" / "python" / folder, target / folder, ignore=_IGNORED)


def _pip_install(requirements: Path, target: Path, layer: str) -> None:
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
            str(requirements),
        ],
        f"pip install of the {layer} layer",
    )
    # Console scripts: their first line names this machine's interpreter, and Lambda never runs them.
    shutil.rmtree(target / "bin", ignore_errors=True)
    for unused in UNUSED_DATA:
        shutil.rmtree(target / unused, ignore_errors=True)
    present = {_normalise(p.name.split("-")[0]) for p in target.glob("*.dist-info")}
    if provided := present & {_normalise(name) for name in RUNTIME_PROVIDED}:
        raise BuildError(f"the {layer} layer would carry what the runtime ships: {sorted(provided)}")
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
    for layer in LAYERS:  # what a dependency layer carries instead
        for folder in layer.domain_data:
            shutil.rmtree(staging / "python" / folder)


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
    if name in DEPENDENCY_LAYERS:
        return functools.partial(_install_dependencies, root, DEPENDENCY_LAYERS[name]), _LAYER_ROOT
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
    provided = {name: layer_modules(paths[name]) for name in DEPENDENCY_LAYERS}
    if problems := import_problems(root, FUNCTIONS, provided, standard_library(python)):
        _clear_assets(root)  # nothing half right to deploy
        raise BuildError("a function imports what its layers do not hold:\n  " + "\n  ".join(problems))
    return sizes


def _clear_assets(root: Path) -> None:
    """Every build starts from nothing: no asset of an earlier build, of a removed function, or of an
    interrupted run survives to be deployed next to this build's."""
    for kind in ("layers", "functions"):
        shutil.rmtree(root / BUILD_DIR / kind, ignore_errors=True)


# --- what each function imports ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    """A module a function imports, where (the file and line) and through which modules from its handler."""

    module: str
    file: str
    line: int
    chain: tuple[str, ...]


def _module_file(root: Path, module: str) -> Path | None:
    """The source of a module of the repository's own packages (``jevs`` in the domain layer, ``functions``)."""
    base = root / "layers" / "jevs" / "python" if module.split(".")[0] == "jevs" else root
    path = base.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_of(tree: ast.Module, package: str, *, nested: bool) -> Iterator[tuple[str, int]]:
    """(module, line) of every import a module runs, type-checking ones aside: at module level (class bodies and
    blocks included), and also inside functions when ``nested``. ``from a import b`` yields ``a.b`` as well,
    which is a module or else a name in ``a``."""
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        if not nested and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parent = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]) if node.level else ""
            base = ".".join(part for part in (parent, node.module or "") if part)
            yield base, node.lineno
            yield from ((f"{base}.{alias.name}", node.lineno) for alias in node.names if alias.name != "*")
        pending.extend(ast.iter_child_nodes(node))


COMPOSITION_ROOT = "jevs.bootstrap"


def _builders_used(root: Path, starts: Sequence[str]) -> set[str]:
    """The names a function's own modules take from the composition root: ``from jevs.bootstrap import api``, or an
    attribute of whatever name they import it under (``from jevs import bootstrap``, ``import jevs.bootstrap as
    root``: ``bootstrap.relay``, ``root.relay``)."""
    parent, _, leaf = COMPOSITION_ROOT.rpartition(".")
    used: set[str] = set()
    for module in starts:
        source = _module_file(root, module.removesuffix(".__init__"))
        if source is None:
            continue
        tree = ast.parse(source.read_text(encoding="utf-8"))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == COMPOSITION_ROOT:
                used.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module == parent:
                names.update(alias.asname or alias.name for alias in node.names if alias.name == leaf)
            elif isinstance(node, ast.Import):
                names.update(alias.asname for alias in node.names if alias.name == COMPOSITION_ROOT and alias.asname)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in names:
                used.add(node.attr)
    return used


def _reachable_imports(tree: ast.Module, package: str, used: set[str]) -> Iterator[tuple[str, int]]:
    """The composition root's imports a function runs: those at its top, and those inside the functions and classes
    the function uses and whatever of the root's own those reach in turn (``relay`` calls ``_every_channel``)."""
    yield from _imports_of(tree, package, nested=False)
    defined = {
        node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    pending = [name for name in used if name in defined]
    reached: set[str] = set()
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        node = defined[name]
        for inner in node.body:
            yield from _imports_of(ast.Module(body=[inner], type_ignores=[]), package, nested=True)
        pending.extend(found.id for found in ast.walk(node) if isinstance(found, ast.Name) and found.id in defined)


def function_imports(root: Path, folder: str) -> list[Imported]:
    """Every module outside the repository a function imports: anything its own package (``functions/<folder>``)
    imports, wherever, and anything the domain modules those reach import at module level, transitively; of the
    composition root, its top and the builders the function uses (see ``_reachable_imports``). A domain module's
    imports inside a function run only on the paths that call it, which may belong to another function: they are
    that function's (and the handlers' tests exercise them; README "Packaging")."""
    own = f"functions.{folder}"
    package = root / "functions" / folder
    # Its modules as the asset holds them (``_IGNORED`` leaves tests out).
    relative = [path.relative_to(package) for path in package.rglob("*.py")]
    starts = sorted(
        f"{own}.{'.'.join(path.with_suffix('').parts)}"
        for path in relative
        if "tests" not in path.parts and not path.name.startswith("test_") and path.name != "conftest.py"
    )
    used = _builders_used(root, starts)
    chains: dict[str, tuple[str, ...]] = {"functions": ("functions",)}
    chains.update({module.removesuffix(".__init__"): (module.removesuffix(".__init__"),) for module in starts})
    queue = list(chains)
    found: dict[str, Imported] = {}
    while queue:
        module = queue.pop(0)
        source = _module_file(root, module)
        if source is None:
            continue
        parent = module if source.name == "__init__.py" else module.rpartition(".")[0]
        # The composition root imports each function's adapters inside that function's builder (so a cold start
        # loads its own): those of the builders this function's handler uses count for it.
        tree = ast.parse(source.read_text(encoding="utf-8"))
        if module == COMPOSITION_ROOT:
            imports = _reachable_imports(tree, parent, used)
        else:
            imports = _imports_of(tree, parent, nested=module == own or module.startswith(f"{own}."))
        for imported, line in imports:
            top = imported.split(".")[0]
            if top in ("jevs", "functions"):
                parts = imported.split(".")
                for depth in range(1, len(parts) + 1):  # importing a.b.c runs a, a.b and a.b.c
                    name = ".".join(parts[:depth])
                    if name not in chains and _module_file(root, name) is not None:
                        chains[name] = (*chains[module], name)
                        queue.append(name)
                if top == "functions" and len(parts) > 1 and parts[1] != folder and _module_file(root, imported):
                    found.setdefault(imported, Imported(imported, str(source.relative_to(root)), line, chains[module]))
            elif top not in found:
                found[top] = Imported(top, str(source.relative_to(root)), line, chains[module])
    return sorted(found.values(), key=lambda imported: imported.module)


def layer_modules(path: Path) -> frozenset[str]:
    """The top-level modules a built dependency layer provides (the domain package's data it may carry aside)."""
    python = path / "python"
    return frozenset(
        entry.name.split(".")[0]
        for entry in python.iterdir()
        if not entry.name.endswith((".dist-info", ".pth")) and entry.name not in ("__pycache__", "jevs")
    )


def import_problems(
    root: Path,
    functions: Sequence[FunctionDefinition],
    provided: Mapping[str, frozenset[str]],
    standard_library: frozenset[str],
) -> list[str]:
    """Every module a function imports (``function_imports``) that Lambda would not find: in neither the standard
    library, what the runtime ships, the domain layer nor one of the function's own layers (``provided``: each
    dependency layer's asset name → its top-level modules), or another function's package."""
    everywhere = standard_library | set(RUNTIME_PROVIDED_MODULES) | {"jevs", "__future__"}
    problems = []
    for function in functions:
        own = frozenset().union(*(provided[layer.asset] for layer in function.layers))
        for imported in function_imports(root, function.folder):
            if imported.module.startswith("functions."):
                reason = "another function's package, which is not in its asset"
            elif imported.module in everywhere or imported.module in own:
                continue
            else:
                holders = sorted(
                    name.removeprefix("layers/") for name, modules in provided.items() if imported.module in modules
                )
                reason = f"in the {', '.join(holders)} layer, not in its layers" if holders else "in no layer"
                reason += f" ({', '.join(layer.name for layer in function.layers)})"
            problems.append(
                f"{function.name} imports {imported.module} at {imported.file}:{imported.line}"
                f" (via {' -> '.join(imported.chain)}), {reason}: import it where it is used, on the path"
                " that needs it, or give the function the layer in jevs.resources"
            )
    return problems


def standard_library(python: Path | None) -> frozenset[str]:
    """The runtime Python's standard library modules (its own list when this machine has it, else ours)."""
    if python is None:
        return frozenset(sys.stdlib_module_names)
    result = subprocess.run(  # noqa: S603 - the interpreter the build uses, with a fixed probe
        [str(python), "-I", "-c", "import sys; print(*sys.stdlib_module_names)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return frozenset(result.stdout.split())


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


@dataclass(frozen=True)
class PackageSize:
    """A function as Lambda unpacks it: its code, the domain layer and its dependency layers."""

    function: str
    assets: tuple[str, ...]
    unzipped_bytes: int
    zipped_bytes: int
    budget_bytes: int

    @property
    def within_budget(self) -> bool:
        return self.unzipped_bytes <= min(self.budget_bytes, LAMBDA_UNZIPPED_LIMIT)


def package_sizes(
    sizes: Mapping[str, AssetSize], functions: Sequence[FunctionDefinition] = FUNCTIONS
) -> list[PackageSize]:
    packages = []
    for definition in functions:
        assets = function_assets(definition)
        packages.append(
            PackageSize(
                definition.name,
                tuple(assets),
                sum(sizes[name].unzipped_bytes for name in assets),
                sum(sizes[name].zipped_bytes for name in assets),
                definition.package_budget_mib * MIB,
            )
        )
    return packages


def budget_problems(sizes: Mapping[str, AssetSize], functions: Sequence[FunctionDefinition] = FUNCTIONS) -> list[str]:
    """Every budget broken: an asset over its own, or a function whose code and layers pass its budget or
    Lambda's quota."""
    problems = [
        f"{size.name}: {_mib(size.unzipped_bytes)} unzipped, budget {_mib(size.budget_bytes)}"
        for size in sizes.values()
        if not size.within_budget
    ]
    for package in package_sizes(sizes, functions):
        if not package.within_budget:
            problems.append(
                f"{package.function}: {_mib(package.unzipped_bytes)} with its layers, budget"
                f" {_mib(package.budget_bytes)} (jevs.resources), Lambda's limit {_mib(LAMBDA_UNZIPPED_LIMIT)}"
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


def format_packages(packages: Sequence[PackageSize]) -> str:
    rows = [("function", "unzipped", "zipped", "budget", "", "layers")]
    for package in packages:
        rows.append(
            (
                package.function,
                _human(package.unzipped_bytes),
                _human(package.zipped_bytes),
                _human(package.budget_bytes),
                "ok" if package.within_budget else "OVER",
                " ".join(asset.removeprefix("layers/") for asset in package.assets if asset.startswith("layers/")),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if column in (0, len(row) - 1) else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )


def main() -> int:
    started = time.monotonic()
    try:
        sizes = build_all(ROOT)
    except BuildError as error:
        print(f"build failed: {error}", file=sys.stderr)
        return 1
    print(format_table(sizes))
    print()
    print(format_packages(package_sizes(sizes)))
    print(f"Lambda python{LAMBDA_PYTHON} on {LAMBDA_ARCHITECTURE}; built in {time.monotonic() - started:.1f} s")
    if problems := budget_problems(sizes):
        print("over budget:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
