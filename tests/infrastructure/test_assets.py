"""The Lambda assets `make build` writes: complete, for the runtime's Python and CPU, byte-compiled, in budget, and
each function with exactly the dependency layers it imports from.

One build per session (about 20 s with a warm pip cache; the ``sizes`` fixture of conftest.py, which the
template tests share); the lock checks need no build.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.build import (
    ASSET_PATHS,
    DEPENDENCY_LAYERS,
    DOMAIN_LAYER,
    LAMBDA_LOCK,
    LAMBDA_PYTHON,
    LAMBDA_UNZIPPED_LIMIT,
    MACHINE,
    MIB,
    ROOT,
    RUNTIME_PROVIDED,
    RUNTIME_PROVIDED_MODULES,
    UV_PLATFORM,
    AssetSize,
    LockOptions,
    budget_problems,
    find_lambda_python,
    function_names,
    import_problems,
    layer_modules,
    layer_problems,
    lock_options,
    package_sizes,
)
from jevs.resources import (
    API_FUNCTION,
    COMMON_LAYER,
    FUNCTIONS,
    FUZZY_LAYER,
    LAYERS,
    MODELS_LAYER,
    NOTIFIER_FUNCTION,
    PDF_LAYER,
    SIGNING_LAYER,
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


def _dependency_pythons() -> list[Path]:
    return [_layer_python(name) for name in DEPENDENCY_LAYERS]


def _distributions(python: Path) -> set[str]:
    return {_normalise(p.name.split("-")[0]) for p in python.glob("*.dist-info")}


# --- what was built -----------------------------------------------------------------------------------------


def test_every_asset_is_built_where_the_stack_looks(sizes: dict[str, AssetSize]) -> None:
    expected = {*DEPENDENCY_LAYERS, DOMAIN_LAYER, *(f"functions/{name}" for name in function_names(ROOT))}
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


def _sources(tree: Path) -> dict[str, bytes]:
    return {
        path.relative_to(tree).as_posix(): path.read_bytes()
        for path in _files(tree)
        if "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_the_domain_layer_is_the_repository_copy_with_its_reference_data(sizes: dict[str, AssetSize]) -> None:
    """Less the PDF's font, which the PDF layer carries to the same place under /opt: the notifier finds the
    repository's whole package, and no other function carries the font."""
    source = ROOT / "layers" / "jevs" / "python"
    built = _layer_python(DOMAIN_LAYER)
    moved = tuple(f"{folder}/" for layer in LAYERS for folder in layer.domain_data)
    assert moved == ("jevs/documents/fonts/",)
    repository = _sources(source)
    kept = {name: content for name, content in repository.items() if not name.startswith(moved)}

    assert _sources(built) == kept
    assert any(name.endswith(".tsv") for name in kept)
    assert not [p for p in built.rglob("*") if p.name in ("tests", "conftest.py") or p.name.startswith("test_")]
    pdf = {
        name: content for name, content in _sources(_layer_python(PDF_LAYER.asset)).items() if name.startswith("jevs/")
    }
    assert pdf == {name: content for name, content in repository.items() if name.startswith(moved)}
    assert "jevs/documents/fonts/WenQuanYiMicroHei-subset.ttf" in pdf


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
    python = _layer_python(MODELS_LAYER.asset)
    core = python / "pydantic_core" / f"_pydantic_core.{CACHE_TAG}-{MACHINE}-linux-gnu.so"
    assert core.is_file(), sorted(p.name for p in (python / "pydantic_core").iterdir())
    libraries = sorted(library for layer in _dependency_pythons() for library in layer.rglob("*.so"))
    assert core in libraries
    for library in libraries:  # abi3 libraries (cryptography's) do not name their CPU: their ELF header does
        header = library.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", library
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE, library
        assert re.search(r"\.(abi3|" + CACHE_TAG + "-" + MACHINE + r"-linux-gnu)\.so$", library.name), library


def test_what_the_runtime_ships_stays_out_of_the_dependency_layers(sizes: dict[str, AssetSize]) -> None:
    held: list[str] = []
    for layer in LAYERS:
        python = _layer_python(layer.asset)
        for module in RUNTIME_PROVIDED_MODULES:
            assert not (python / module).exists(), module
            assert not (python / f"{module}.py").exists(), module
        distributions = _distributions(python)
        assert not distributions & {_normalise(name) for name in RUNTIME_PROVIDED}
        assert distributions == {_normalise(name) for name in layer.distributions}, layer.name
        assert not (python / "bin").exists()
        held += distributions
    assert sorted(held) == sorted(_pins(ROOT / LAMBDA_LOCK)), "the layers hold exactly the lock, each once"


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


def _provided() -> dict[str, frozenset[str]]:
    return {name: layer_modules(ASSET_PATHS[name]) for name in DEPENDENCY_LAYERS}


def test_every_import_of_a_function_resolves_in_its_own_layers(
    sizes: dict[str, AssetSize], runtime_facts: dict[str, str]
) -> None:
    """Statically: what each function's package imports, and what the domain modules it reaches import at module
    level, is in the runtime's standard library, what the runtime ships, the domain layer or that function's own
    dependency layers (the build's own check; tests/integration/test_function_layers.py runs the handlers)."""
    provided = _provided()
    heavy = {"pydantic", "reportlab", "PIL", "rapidfuzz", "holidays", "httpx", "cryptography"}
    assert heavy <= set().union(*provided.values())

    assert import_problems(ROOT, FUNCTIONS, provided, frozenset(runtime_facts["stdlib"].split())) == []


def test_the_heavy_dependencies_are_carried_only_by_the_functions_that_use_them() -> None:
    carriers = {
        layer.name: sorted(function.folder for function in FUNCTIONS if layer in function.layers) for layer in LAYERS
    }

    assert carriers == {
        "common": sorted(function.folder for function in FUNCTIONS),
        # The relay publishes records as stored and reads plain settings: nothing of pydantic.
        "models": sorted(function.folder for function in FUNCTIONS if function.folder != "outbox_relay"),
        "pdf": ["notifier"],
        "fuzzy": ["matcher"],
        "http": ["dispatcher"],
        "holidays": ["api"],
        # Whoever signs for China or seals history events (DESIGN.md §6.3, §6.4).
        "signing": ["api", "dispatcher", "matcher", "overseer", "reconciler"],
    }
    assert all(len(function.layers) + 1 <= 5 for function in FUNCTIONS)  # Lambda's limit: five layers


def _repository_copy(destination: Path) -> Path:
    shutil.copytree(ROOT / "functions", destination / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / "layers" / "jevs" / "python" / "jevs",
        destination / "layers" / "jevs" / "python" / "jevs",
        ignore=shutil.ignore_patterns("__pycache__", "reference", "fonts"),
    )
    return destination


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_the_build_refuses_a_function_that_imports_from_a_layer_it_lacks(
    sizes: dict[str, AssetSize], runtime_facts: dict[str, str], tmp_path: Path
) -> None:
    """rapidfuzz imported in the API's own code, even inside a function; at module level in a domain module that
    functions load (as names.py imported it before only the matcher carried it); and inside one function's builder
    in the composition root, which counts for that function alone."""
    stdlib = frozenset(runtime_facts["stdlib"].split())
    root = _repository_copy(tmp_path / "api")
    _append(root / "functions" / "api" / "problems.py", "\n\ndef _score() -> None:\n    import rapidfuzz\n")

    problems = import_problems(root, FUNCTIONS, _provided(), stdlib)

    assert len(problems) == 1
    assert problems[0].startswith("jevs-api imports rapidfuzz at functions/api/problems.py:")
    assert "in the fuzzy layer, not in its layers (common, models, signing, holidays)" in problems[0]

    root = _repository_copy(tmp_path / "domain")
    _append(root / "layers" / "jevs" / "python" / "jevs" / "domain" / "names.py", "\nfrom rapidfuzz import fuzz\n")

    problems = import_problems(root, FUNCTIONS, _provided(), stdlib)

    # The functions that load names.py, as they run: the API and the reconciler (and the matcher, which carries
    # rapidfuzz). The dispatcher, the notifier, the overseer and the relay never import it.
    refused = sorted(problem.split(" ", 1)[0] for problem in problems)
    assert refused == ["jevs-api", "jevs-reconciler"]
    assert all("layers/jevs/python/jevs/domain/names.py" in problem for problem in problems)
    api = next(problem for problem in problems if problem.startswith("jevs-api "))
    assert "(via functions.api." in api
    assert "-> jevs.domain.names)" in api

    root = _repository_copy(tmp_path / "builder")
    bootstrap = root / "layers" / "jevs" / "python" / "jevs" / "bootstrap.py"
    lines = bootstrap.read_text(encoding="utf-8").splitlines(keepends=True)
    (builder,) = [number for number, line in enumerate(lines) if line.startswith("def notifier(")]
    lines.insert(builder + 1, "    import rapidfuzz\n")
    bootstrap.write_text("".join(lines), encoding="utf-8")

    problems = import_problems(root, FUNCTIONS, _provided(), stdlib)

    assert [problem.split(" ", 1)[0] for problem in problems] == ["jevs-notifier"]
    assert "at layers/jevs/python/jevs/bootstrap.py:" in problems[0]

    # The same, the handler naming the composition root otherwise.
    handler = root / "functions" / "notifier" / "handler.py"
    source = handler.read_text(encoding="utf-8")
    renamed = source.replace("from jevs import bootstrap\n", "from jevs import bootstrap as root\n")
    handler.write_text(
        renamed.replace("bootstrap.lambda_entry(", "root.lambda_entry(").replace(
            "bootstrap.notifier,", "root.notifier,"
        ),
        encoding="utf-8",
    )
    assert "root.notifier," in handler.read_text(encoding="utf-8")

    problems = import_problems(root, FUNCTIONS, _provided(), stdlib)

    assert [problem.split(" ", 1)[0] for problem in problems] == ["jevs-notifier"]


def test_the_layers_hold_the_lock_each_distribution_once_with_what_it_requires() -> None:
    lock = (ROOT / LAMBDA_LOCK).read_text()
    assert layer_problems(lock, LAYERS, FUNCTIONS) == []

    # joserfc without the cryptography it is built on; pillow in two layers; tzdata in none.
    jose = dataclasses.replace(SIGNING_LAYER, distributions=("joserfc",))
    crypto = dataclasses.replace(SIGNING_LAYER, name="crypto", distributions=("cffi", "cryptography", "pycparser"))
    models = dataclasses.replace(
        MODELS_LAYER, distributions=tuple(name for name in MODELS_LAYER.distributions if name != "tzdata")
    )
    twice = dataclasses.replace(FUZZY_LAYER, distributions=("rapidfuzz", "pillow"))
    others = [layer for layer in LAYERS if layer.name in ("holidays", "http")]
    api = dataclasses.replace(API_FUNCTION, layers=(COMMON_LAYER, models, jose))
    layers = [COMMON_LAYER, models, jose, crypto, PDF_LAYER, twice, *others]

    assert layer_problems(lock, layers, [api, NOTIFIER_FUNCTION]) == [
        "tzdata is locked but in no layer: add it to one in jevs.resources",
        "pillow is in 2 layers (pdf, fuzzy): one only",
        "jevs-api: joserfc requires cryptography, which none of its layers holds",
    ]


def test_each_function_with_its_layers_is_within_its_budget(sizes: dict[str, AssetSize]) -> None:
    packages = {package.function: package for package in package_sizes(sizes)}
    assert set(packages) == {function.name for function in FUNCTIONS}
    for function in FUNCTIONS:
        package = packages[function.name]
        layers = tuple(layer.asset for layer in function.layers)
        assert package.assets == (*layers, DOMAIN_LAYER, f"functions/{function.folder}")
        assert package.unzipped_bytes == sum(sizes[name].unzipped_bytes for name in package.assets)
        assert package.within_budget, (function.name, package.unzipped_bytes / MIB)
        assert package.budget_bytes <= LAMBDA_UNZIPPED_LIMIT
    # The PDF stack is the notifier's alone: no other function carries any of it.
    pdf = sizes[PDF_LAYER.asset].unzipped_bytes
    assert pdf > 20 * MIB
    assert (
        max(package.unzipped_bytes for package in packages.values()) == packages[NOTIFIER_FUNCTION.name].unzipped_bytes
    )
    over = dataclasses.replace(API_FUNCTION, package_budget_mib=1)
    assert not package_sizes(sizes, [over])[0].within_budget
    assert any(problem.startswith("jevs-api: ") for problem in budget_problems(sizes, [over]))


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
