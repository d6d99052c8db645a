"""What each function carries to Lambda (issue 16, build 4): its code, the domain layer and its dependency layers,
unzipped (what counts against Lambda's 250 MiB) and zipped (what is uploaded and fetched at a cold start), before and
after the dependencies were split by use.

Reads the assets in build/ (``make build``), or builds them first when any is missing. Before the split every
function had one dependencies layer holding the whole lock and the domain layer with the PDF's font: the same
distributions and files the layers now share out, each once, so a function's former package is its code plus every
layer. Sizes are bytes, not times: one measurement is the figure.
"""

from __future__ import annotations

from benchmarks.report import Report, Table
from infrastructure.build import (
    ASSET_PATHS,
    DOMAIN_LAYER,
    MIB,
    ROOT,
    AssetSize,
    budget_of,
    build_all,
    function_assets,
    measure,
)
from jevs.resources import FUNCTIONS, LAYERS


def built_sizes(report: Report) -> dict[str, AssetSize]:
    if all(path.is_dir() for path in ASSET_PATHS.values()):
        report.progress("measuring the assets in build/")
        return {name: measure(name, path, budget_of(name)) for name, path in ASSET_PATHS.items()}
    report.progress("building the assets (make build): none or not all are in build/")
    return build_all(ROOT)


def _mib(size: int) -> float:
    return round(size / MIB, 1)


def run(report: Report, quick: bool) -> None:
    section = report.section(
        "package_sizes",
        "Package size of each function, before and after the split by use",
        "What each function carries to Lambda: its code, the domain layer and its dependency layers "
        "(`jevs.resources`: `FunctionDefinition.layers`), unzipped as Lambda counts them against its 250 MiB and "
        "zipped as they are uploaded and fetched at a cold start. Before the split every function had the whole "
        "lock in one dependencies layer and the PDF's font in the domain layer, which is its code plus every layer "
        "now (86.9 MiB of dependencies and a 3.6 MiB domain layer when last built that way). `make build` checks "
        "each function against its budget.",
    )
    sizes = built_sizes(report)
    every_layer = [layer.asset for layer in LAYERS] + [DOMAIN_LAYER]
    table = Table(
        [
            "function",
            "layers",
            "before MiB",
            "after MiB",
            "after / before",
            "before zipped MiB",
            "after zipped MiB",
            "budget MiB",
        ]
    )
    figures: dict[str, dict[str, float]] = {}
    for definition in FUNCTIONS:
        code = f"functions/{definition.folder}"
        after = function_assets(definition)
        before = [*every_layer, code]
        unzipped = (
            sum(sizes[name].unzipped_bytes for name in before),
            sum(sizes[name].unzipped_bytes for name in after),
        )
        zipped = (sum(sizes[name].zipped_bytes for name in before), sum(sizes[name].zipped_bytes for name in after))
        figures[definition.folder] = {
            "before_unzipped_mib": _mib(unzipped[0]),
            "after_unzipped_mib": _mib(unzipped[1]),
            "before_zipped_mib": _mib(zipped[0]),
            "after_zipped_mib": _mib(zipped[1]),
            "budget_mib": definition.package_budget_mib,
        }
        table.rows.append(
            [
                definition.name,
                ", ".join(layer.name for layer in definition.layers),
                _mib(unzipped[0]),
                _mib(unzipped[1]),
                round(unzipped[1] / unzipped[0], 2),
                _mib(zipped[0]),
                _mib(zipped[1]),
                definition.package_budget_mib,
            ]
        )
    section.figures["functions"] = figures
    section.tables.append(("Each function: code, domain layer and its dependency layers", table))

    layers = Table(["layer", "holds", "unzipped MiB", "zipped MiB", "carried by"])
    for layer in LAYERS:
        size = sizes[layer.asset]
        carriers = [definition.folder for definition in FUNCTIONS if layer in definition.layers]
        held = ", ".join([*layer.distributions, *(f"{folder}/" for folder in layer.domain_data)])
        layers.rows.append([layer.name, held, _mib(size.unzipped_bytes), _mib(size.zipped_bytes), ", ".join(carriers)])
    domain = sizes[DOMAIN_LAYER]
    layers.rows.append(
        ["jevs (domain)", "jevs/", _mib(domain.unzipped_bytes), _mib(domain.zipped_bytes), "every function"]
    )
    section.figures["layers_mib"] = {layer.name: _mib(sizes[layer.asset].unzipped_bytes) for layer in LAYERS}
    section.tables.append(("Each layer", layers))

    names = [definition.folder for definition in FUNCTIONS]
    report.bars(
        section,
        "functions",
        "Unzipped size of each function with its layers (MiB): before and after the split; dashes: budgets",
        categories=names,
        series={
            "before": [figures[name]["before_unzipped_mib"] for name in names],
            "after": [figures[name]["after_unzipped_mib"] for name in names],
        },
        limits={"budget": [float(definition.package_budget_mib) for definition in FUNCTIONS]},
        y_label="MiB unzipped",
    )
