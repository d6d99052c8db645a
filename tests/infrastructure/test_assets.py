"""The Lambda assets `make build` writes: complete, for the runtime's Python and CPU, byte-compiled, in budget.

One build per session (about 20 s with a warm pip cache; the ``sizes`` fixture of conftest.py, which the
template tests share); the lock checks need no build.
"""

from __future__ import annotations

import ast
import re
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.build import (
    ASSET_PATHS,
    DEPENDENCIES_LAYER,
    DOMAIN_LAYER,
    LAMBDA_LOCK,
    LAMBDA_PYTHON,
    MACHINE,
    ROOT,
    RUNTIME_PROVIDED,
    RUNTIME_PROVIDED_MODULES,
    UV_PLATFORM,
    AssetSize,
    LockOptions,
    budget_problems,
    find_lambda_python,
    function_names,
    lock_options,
)

pytestmark = pytest.mark.infrastructure

CACHE_TAG = f"cpython-{LAMBDA_PYTHON.replace('.', '')}"
ELF_MACHINE = {"aarch64": 183, "x86_64": 62}[MACHINE]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


@pytest.fixture(scope="session")
def runtime_facts() -> dict[str, str]:
    """What only the runtime's own interpreter knows: its bytecode magic number and its standard library."""
    probe = "import importlib.util, sys; print(importlib.util.MAGIC_NUMBER.hex()); print(*sys.stdlib_module_names)"
    out = subprocess.run(  # noqa: S603 - the interpreter the build uses, with a fixed probe
        [str(find_lambda_python()), "-I", "-c", probe], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return {"magic": out[0], "stdlib": out[1]}


def _files(tree: Path) -> Iterator[Path]:
    return (path for path in sorted(tree.rglob("*")) if path.is_file())


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lock: Path) -> dict[str, set[str]]:
    pins: dict[str, set[str]] = {}
    for name, version in _PIN.findall(lock.read_text()):
        pins.setdefault(_normalise(name), set()).add(version)
    return pins


def _layer_python(name: str) -> Path:
    return ASSET_PATHS[name] / "python"


# --- what was built -----------------------------------------------------------------------------------------


def test_every_asset_is_built_where_the_stack_looks(sizes: dict[str, AssetSize]) -> None:
    expected = {DEPENDENCIES_LAYER, DOMAIN_LAYER, *(f"functions/{name}" for name in function_names(ROOT))}
    assert set(ASSET_PATHS) == expected
    assert set(sizes) == expected
    assert "functions/api" in expected
    for name, path in ASSET_PATHS.items():
        top = sorted(entry.name for entry in path.iterdir())
        # A layer's zip holds python/ (Lambda puts /opt/python on sys.path); a function's holds the package.
        assert top == (["python"] if name.startswith("layers/") else ["functions"]), name
        assert sizes[name].files > 0
    leftovers = {p for kind in ("layers", "functions") for p in (ROOT / "build" / kind).iterdir()}
    assert leftovers == set(ASSET_PATHS.values()), "stale or half-built assets in build/"


def test_the_domain_layer_is_the_repository_copy_with_its_reference_data(sizes: dict[str, AssetSize]) -> None:
    source = ROOT / "layers" / "jevs" / "python" / "jevs"
    built = _layer_python(DOMAIN_LAYER) / "jevs"

    def sources(tree: Path) -> dict[str, bytes]:
        return {
            path.relative_to(tree).as_posix(): path.read_bytes()
            for path in _files(tree)
            if "__pycache__" not in path.parts and path.suffix != ".pyc"
        }

    assert sources(built) == sources(source)
    assert any(name.endswith(".tsv") for name in sources(built))
    assert not [p for p in built.rglob("*") if p.name in ("tests", "conftest.py") or p.name.startswith("test_")]


def test_each_function_holds_its_handler_under_the_functions_package(sizes: dict[str, AssetSize]) -> None:
    for name in function_names(ROOT):
        package = ASSET_PATHS[f"functions/{name}"] / "functions"
        assert (package / "__init__.py").read_bytes() == (ROOT / "functions" / "__init__.py").read_bytes()
        assert sorted(p.name for p in package.iterdir() if p.name != "__pycache__") == ["__init__.py", name]
        handler = package / name / "handler.py"  # the handler string: functions.<name>.handler.handler
        defined = {
            target.id if isinstance(target, ast.Name) else getattr(target, "name", "")
            for node in ast.parse(handler.read_text()).body
            for target in (node.targets if isinstance(node, ast.Assign) else [node])
        }
        assert "handler" in defined, f"functions.{name}.handler defines no handler"


def test_pydantic_core_is_compiled_for_the_runtime(sizes: dict[str, AssetSize]) -> None:
    python = _layer_python(DEPENDENCIES_LAYER)
    core = python / "pydantic_core" / f"_pydantic_core.{CACHE_TAG}-{MACHINE}-linux-gnu.so"
    assert core.is_file(), sorted(p.name for p in (python / "pydantic_core").iterdir())
    libraries = sorted(python.rglob("*.so"))
    assert core in libraries
    for library in libraries:  # abi3 libraries (cryptography's) do not name their CPU: their ELF header does
        header = library.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", library
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE, library
        assert re.search(r"\.(abi3|" + CACHE_TAG + "-" + MACHINE + r"-linux-gnu)\.so$", library.name), library


def test_what_the_runtime_ships_stays_out_of_the_dependencies_layer(sizes: dict[str, AssetSize]) -> None:
    python = _layer_python(DEPENDENCIES_LAYER)
    for module in RUNTIME_PROVIDED_MODULES:
        assert not (python / module).exists(), module
        assert not (python / f"{module}.py").exists(), module
    distributions = {_normalise(p.name.split("-")[0]) for p in python.glob("*.dist-info")}
    assert not distributions & {_normalise(name) for name in RUNTIME_PROVIDED}
    assert distributions == set(_pins(ROOT / LAMBDA_LOCK)), "the layer holds exactly the lock"
    assert not (python / "bin").exists()


def test_every_module_has_unchecked_bytecode_for_the_runtime(
    sizes: dict[str, AssetSize], runtime_facts: dict[str, str]
) -> None:
    for name, path in ASSET_PATHS.items():
        modules = [p for p in _files(path) if p.suffix == ".py"]
        assert modules, name
        for module in modules:
            cached = module.parent / "__pycache__" / f"{module.stem}.{CACHE_TAG}.pyc"
            assert cached.is_file(), f"{name}: no bytecode for {module.relative_to(path)}"
            header = cached.read_bytes()[:8]
            assert header[:4].hex() == runtime_facts["magic"], cached
            # Flags 0b01: hash-based and unchecked, so Lambda loads it without reading the source's time stamp.
            assert int.from_bytes(header[4:8], "little") == 0b01, cached
        stray = [p for p in _files(path) if p.suffix == ".pyc" and not p.name.endswith(f".{CACHE_TAG}.pyc")]
        assert not stray, f"{name}: bytecode for other Pythons: {stray[:5]}"


def test_every_file_is_readable_by_the_lambda_user(sizes: dict[str, AssetSize]) -> None:
    for path in ASSET_PATHS.values():
        for entry in [path, *path.rglob("*")]:
            needed = 0o005 if entry.is_dir() else 0o004
            assert entry.stat().st_mode & needed == needed, entry


def test_every_import_resolves_in_lambda(sizes: dict[str, AssetSize], runtime_facts: dict[str, str]) -> None:
    """Statically: what the domain layer and the functions import (type-checking imports aside) is in the
    runtime's standard library, in what the runtime ships, in a layer, or in the function's own package."""
    dependencies = _layer_python(DEPENDENCIES_LAYER)
    available = (
        set(runtime_facts["stdlib"].split())
        | set(RUNTIME_PROVIDED_MODULES)
        | {p.name.split(".")[0] for p in dependencies.iterdir() if not p.name.endswith(".dist-info")}
        | {"jevs", "functions"}
    )
    trees = {name: path for name, path in ASSET_PATHS.items() if name != DEPENDENCIES_LAYER}
    for name, path in trees.items():
        for module in (p for p in _files(path) if p.suffix == ".py"):
            for imported in _runtime_imports(ast.parse(module.read_text())):
                where = f"{name}: {module.relative_to(path)} imports {imported}"
                assert imported.split(".")[0] in available, where
                if imported.startswith("functions."):
                    assert name == "functions/" + imported.split(".")[1], f"{where}, which is not in its asset"


def _runtime_imports(tree: ast.Module) -> Iterator[str]:
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
        pending.extend(ast.iter_child_nodes(node))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def test_sizes_are_within_budget(sizes: dict[str, AssetSize]) -> None:
    assert budget_problems(sizes) == []
    for size in sizes.values():
        assert 0 < size.zipped_bytes < size.unzipped_bytes, size.name


# --- the lock (no build needed) -----------------------------------------------------------------------------


def test_the_lambda_lock_is_for_the_runtime_and_leaves_out_what_it_ships() -> None:
    lock = ROOT / LAMBDA_LOCK
    assert lock_options(lock) == LockOptions(LAMBDA_PYTHON, UV_PLATFORM, frozenset(RUNTIME_PROVIDED))
    assert not set(_pins(lock)) & {_normalise(name) for name in RUNTIME_PROVIDED}
    assert "--hash=sha256:" in lock.read_text()
    # The Makefile writes the lock: its list and target are the build's.
    makefile = (ROOT / "Makefile").read_text()
    listed = re.search(r"^LAMBDA_RUNTIME_PROVIDED\s*:=\s*(.+)$", makefile, re.MULTILINE)
    assert listed is not None
    assert tuple(listed.group(1).split()) == RUNTIME_PROVIDED
    assert f"--python-version {LAMBDA_PYTHON} --python-platform {UV_PLATFORM}" in makefile


def test_the_lambda_lock_holds_every_runtime_dependency_at_the_version_the_tests_run() -> None:
    lambda_pins = _pins(ROOT / LAMBDA_LOCK)
    development_pins = _pins(ROOT / "requirements.lock")
    for name, versions in lambda_pins.items():
        assert len(versions) == 1, name
        assert versions <= development_pins.get(name, set()), f"{name} {versions} vs requirements.lock"
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    direct = {_normalise(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]) for requirement in declared}
    assert direct - {_normalise(name) for name in RUNTIME_PROVIDED} <= set(lambda_pins)
