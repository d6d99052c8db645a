"""What a cold start imports (issue 16, build 2): each function's handler module, imported in a fresh interpreter,
leaves out the heavy libraries only some requests need. Each is imported on the path that uses it (the PDF when
documents are made, JOSE and cryptography when a key is read or a signature made, rapidfuzz when names differ,
holidays when a due time is computed, httpx when the dispatcher is built, the X-Ray SDK when Lambda's first
invocation makes the Tracer, Powertools' OpenAPI models when /openapi.json or /docs is asked for). Not timed:
``benchmarks/cold_start.py`` measures; this pins what the gains stand on, so an eager import cannot creep back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jevs.resources import FUNCTIONS

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

# Top-level packages (or modules) no handler module imports, with why each is left to the path that needs it.
LEFT_OUT = {
    "reportlab": "the certificate PDF (the notifier, when it makes documents)",
    "PIL": "reportlab's images",
    "rapidfuzz": "scoring names that differ after normalising (matching)",
    "holidays": "New Zealand working days (an application's due time)",
    "httpx": "the call to China (the dispatcher, built on its first invocation)",
    "joserfc": "reading a public key as a JWK",
    "cryptography": "signatures and public keys",
    "stdnum": "checking a business number",
    "aws_xray_sdk": "the Tracer, made on Lambda's first invocation",
    # Powertools' batch types import them whenever pydantic came first; the SQS consumers parse with their own model.
    "aws_lambda_powertools.utilities.parser": "Powertools' models of every event source",
    # With Powertools' data classes of every event source, JMESPath and asyncio (the API's resolver needs the data
    # classes; the queue consumers' batches are jevs.adapters.lambda_batches').
    "aws_lambda_powertools.utilities.batch": "Powertools' batch processor",
    "aws_lambda_powertools.event_handler.openapi.models": "the OpenAPI document and Swagger UI",
    "aws_lambda_powertools.event_handler.openapi.swagger_ui": "Swagger UI (/docs)",
}


def in_fresh_interpreter(script: str) -> Any:
    """What ``script``, run by a fresh interpreter of this venv (no Powertools or Lambda settings), printed last as
    JSON."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith(("POWERTOOLS_", "LAMBDA_"))}
    finished = subprocess.run(  # noqa: S603  # this interpreter, running our own script
        [sys.executable, "-c", script], cwd=ROOT, env=clean, capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(finished.stdout.strip().splitlines()[-1])


def imported_by(module: str) -> list[str]:
    """Every module a fresh interpreter has once it imported ``module``."""
    modules: list[str] = in_fresh_interpreter(f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))")
    return modules


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


@pytest.mark.parametrize("folder", [definition.folder for definition in FUNCTIONS])
def test_a_handler_module_imports_none_of_the_heavy_libraries(folder: str) -> None:
    modules = imported_by(f"functions.{folder}.handler")

    found = {package: [m for m in modules if _under(m, package)][:3] for package in LEFT_OUT}

    assert {package: first for package, first in found.items() if first} == {}


def test_the_check_sees_a_library_when_it_is_imported() -> None:
    # The same check on a module that does import two of them: it would have failed before the imports moved.
    modules = imported_by("jevs.documents.certificate_pdf")

    assert [package for package in ("reportlab", "PIL") if any(_under(m, package) for m in modules)] == [
        "reportlab",
        "PIL",
    ]


# A script's function listing the JEVS pydantic models whose validators are built (True) or deferred (False).
JEVS_MODELS = """
from pydantic import BaseModel

def jevs_models(built):
    found, pending = set(), list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.__module__.startswith(("jevs.", "functions.")) and model.__pydantic_complete__ is built:
            found.add(f"{model.__module__}.{model.__qualname__}")
    return sorted(found)

def jevs_adapters(built):
    from jevs.domain.deferred import MADE
    return [str(adapter._type) for adapter in MADE if adapter.pydantic_complete is built]
"""


@pytest.mark.parametrize("folder", [definition.folder for definition in FUNCTIONS])
def test_a_handler_module_builds_none_of_the_domains_models(folder: str) -> None:
    # Each is built on its first use (jevs.domain's defer_build), or before SnapStart's snapshot.
    script = (
        f"import json, functions.{folder}.handler\n{JEVS_MODELS}\n"
        "print(json.dumps([jevs_models(True), jevs_adapters(True)]))"
    )

    assert in_fresh_interpreter(script) == [[], []]


def test_before_the_snapshot_every_deferred_model_is_built() -> None:
    # The API's SnapStart hook, its handler's build left out (it reads the function's settings from Lambda's
    # environment): the models deferred at import, then those still deferred after the hook.
    script = (
        "import json, functions.api.handler as api\n"
        "from jevs.bootstrap import LambdaEntry\n"
        f"{JEVS_MODELS}\n"
        "deferred = [jevs_models(False), jevs_adapters(False)]\n"
        "LambdaEntry._build = lambda self: None\n"
        "api.handler.before_snapshot(lambda: None)\n"
        "print(json.dumps([[len(found) for found in deferred], jevs_models(False), jevs_adapters(False)]))\n"
    )

    (models_at_import, adapters_at_import), models_after, adapters_after = in_fresh_interpreter(script)

    assert models_at_import > 50
    assert adapters_at_import >= 4
    assert (models_after, adapters_after) == ([], [])


# What the outbox relay needs of JEVS: it publishes each record as it was stored, never parsing the message.
RELAY_READS = """
import json, os, sys
os.environ.setdefault("AWS_DEFAULT_REGION", "ap-southeast-2")
import functions.outbox_relay.handler
from jevs import bootstrap
from jevs.adapters.aws import AwsClients
from jevs.settings import RelaySettings
urls = {f"{name}_queue_url": f"https://sqs.local/{name}" for name in ("delivery", "declarations", "notifications")}
dependencies = bootstrap.relay(RelaySettings(records_table="jevs-records", **urls), AwsClients())
dependencies.unit_of_work()
print(json.dumps(sorted(sys.modules)))
"""


def test_the_outbox_relay_built_loads_none_of_the_domains_models_nor_the_records_other_than_the_outbox() -> None:
    modules = in_fresh_interpreter(RELAY_READS)

    domain = {module for module in modules if _under(module, "jevs.domain")}
    assert domain == {
        "jevs.domain",
        "jevs.domain.correlation",
        "jevs.domain.errors",
        "jevs.domain.outbox",
        "jevs.domain.strict_json",
    }
    left_out = ("jevs.adapters.table.items", "jevs.adapters.table.repositories", "jevs.service.ports")
    assert [module for module in left_out if module in modules] == []
    # Powertools' data classes package imports every event source's class: the relay reads its stream records itself.
    assert [m for m in modules if _under(m, "aws_lambda_powertools.utilities.data_classes")] == []
    # Settings are plain dataclasses (jevs.settings): pydantic's BaseModel was a fifth of the relay's import.
    assert [m for m in modules if _under(m, "pydantic") or _under(m, "pydantic_core")] == []
