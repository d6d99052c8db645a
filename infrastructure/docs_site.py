"""The documentation site's hook (``hooks:`` in mkdocs.yml): what the site shows without keeping a second copy.

- ``<!-- include FILE -->`` or ``<!-- include FILE#section -->`` on a line of its own, in a page under docs/, is
  replaced by that file of the repository's root (DESIGN.md, SECURITY.md), or by one section of it (a README
  section, by its heading's anchor), its links made to work from the page.
- ``reference/api.md`` is written from the committed OpenAPI document, docs/openapi.json: one section per
  operation (generated Markdown, so the site needs no JavaScript from elsewhere).
- ``problems/index.md`` lists the problem pages, docs/problems/<slug>.md, by their titles.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path, PurePosixPath
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
OPENAPI = DOCS / "openapi.json"
PROBLEMS = DOCS / "problems"
API_PAGE = "reference/api.md"
PROBLEMS_PAGE = "problems/index.md"

# Files of the root the site shows, and the page each is shown on (a link to one becomes a link to its page).
SHOWN_AT = {"DESIGN.md": "design.md", "SECURITY.md": "security.md"}

INCLUDE = re.compile(r"^<!-- include (?P<path>[\w.-]+)(?:#(?P<section>[\w-]+))? -->$", re.MULTILINE)
LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")
HEADING = re.compile(r"^(?P<hashes>#{1,6}) (?P<title>.+?)\s*$")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def slugify(title: str, separator: str = "-") -> str:
    """A heading's anchor, as the site (Python-Markdown's toc) and GitHub make it: ``6.4 History ...`` is
    ``64-history-...``."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^\w\s-]", "", ascii_title).strip().lower()
    return re.sub(rf"[{separator}\s]+", separator, words)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    files.append(File.generated(config, API_PAGE, content=api_reference(json.loads(OPENAPI.read_text()))))
    files.append(File.generated(config, PROBLEMS_PAGE, content=problem_index()))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    page_dir = PurePosixPath(page.file.src_uri).parent

    def include(match: re.Match[str]) -> str:
        text = (ROOT / match["path"]).read_text()
        if match["section"]:
            text = section(text, match["section"], match["path"])
        return relink(text, page_dir, whole_file=not match["section"])

    return INCLUDE.sub(include, markdown)


def section(text: str, anchor: str, path: str) -> str:
    """The body of the section of ``text`` headed by the heading whose anchor is ``anchor``, up to the next
    heading of the same or a higher level (the heading itself left out: the page has its own)."""
    lines = text.splitlines()
    in_fence = False
    start: int | None = None
    level = 0
    for number, line in enumerate(lines):
        if line.startswith("```"):
            in_fence = not in_fence
        heading = None if in_fence else HEADING.match(line)
        if heading is None:
            continue
        if start is None and slugify(heading["title"], "-") == anchor:
            start, level = number + 1, len(heading["hashes"])
        elif start is not None and len(heading["hashes"]) <= level:
            return "\n".join(lines[start:number]).strip() + "\n"
    if start is None:
        raise ValueError(f"{path} has no section #{anchor}")
    return "\n".join(lines[start:]).strip() + "\n"


def relink(text: str, page_dir: PurePosixPath, whole_file: bool) -> str:
    """Links written from the repository's root, made to work from a page in ``page_dir``: to a page of the site
    when the target is shown there, else the path as code (it names a file of the clone, not of the site)."""

    def one(match: re.Match[str]) -> str:
        text, target = match["text"], match["target"]
        if re.match(r"^[a-z]+:", target):
            return match[0]
        path, _, fragment = target.partition("#")
        if not path:
            return match[0] if whole_file else text
        page = SHOWN_AT.get(path) or (path.removeprefix("docs/") if path.startswith("docs/") else None)
        if page is None:
            return text if text.strip("`") == path else f"{text} (`{path}`)"
        relative = _relative(PurePosixPath(page), page_dir)
        return f"[{text}]({relative}{'#' + fragment if fragment else ''})"

    return LINK.sub(one, text)


def _relative(target: PurePosixPath, start: PurePosixPath) -> str:
    ups = len(start.parts) if str(start) != "." else 0
    return "/".join([".."] * ups + list(target.parts))


def problem_index() -> str:
    lines = [
        "# Problems",
        "",
        "Every error JEVS answers is an RFC 9457 problem (`application/problem+json`) whose `type` names one of",
        "these pages. Each says what the problem means, when JEVS sends it and what a client should do. Its",
        "`instance` is the request's id: quote it to the operators when you ask about that request.",
        "",
        "| type | title |",
        "| --- | --- |",
    ]
    for page in sorted(PROBLEMS.glob("*.md")):
        if page.name == "index.md":
            continue
        title = page.read_text().splitlines()[0].removeprefix("# ").split(": `")[0]
        lines.append(f"| [`{page.stem}`]({page.name}) | {title} |")
    return "\n".join(lines) + "\n"


def api_reference(document: dict[str, Any]) -> str:
    """The API reference as Markdown: the operations in the document's order, then every schema."""
    info = document["info"]
    lines = [
        "# API reference",
        "",
        f"{info['title']}, version {info['version']}: generated from the committed OpenAPI document "
        "([openapi.json](../openapi.json)) when the site is built. The [partner guide](../partners/guide.md) "
        "says how to call it.",
        "",
    ]
    schemes = document.get("components", {}).get("securitySchemes", {})
    if schemes:
        lines += ["## Authentication", ""]
        for name, scheme in schemes.items():
            where = f", `{scheme['name']}` in the {scheme['in']}" if scheme.get("type") == "apiKey" else ""
            lines.append(f"- `{name}` ({scheme.get('type', '')}{where}): {_cell(scheme.get('description', ''))}")
            for flow_name, flow in scheme.get("flows", {}).items():
                lines.append(f"    - {flow_name}: token URL `{flow.get('tokenUrl', '')}`")
                lines += [f"    - scope `{scope}`: {what}" for scope, what in flow.get("scopes", {}).items()]
        lines.append("")
    default_security = document.get("security", [])
    # Grouped by each operation's first tag, the groups in the order the document first names them.
    groups: dict[str, list[str]] = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                tag = (item[method].get("tags") or ["other"])[0]
                groups.setdefault(tag, []).extend(_operation(method, path, item[method], default_security))
    for tag, operation_lines in groups.items():
        lines += [f"## {tag.capitalize()}", "", *operation_lines]
    schemas = document.get("components", {}).get("schemas", {})
    if schemas:
        lines += ["## Schemas", ""]
        for name, schema in schemas.items():
            lines += _schema(name, schema)
    return "\n".join(lines) + "\n"


def _operation(method: str, path: str, operation: dict[str, Any], default_security: list[Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    if operation.get("summary"):
        lines += [f"**{_cell(operation['summary'])}**", ""]
    if operation.get("description"):
        lines += [operation["description"], ""]
    security = operation.get("security", default_security)
    who = "public (no token)" if not security else _security(security)
    lines += [f"Operation id `{operation.get('operationId', '')}`; {who}.", ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | required | type | description |", "| --- | --- | --- | --- | --- |"]
        for parameter in parameters:
            schema = parameter.get("schema", {})
            lines.append(
                f"| `{parameter['name']}` | {parameter['in']} | {'yes' if parameter.get('required') else 'no'} | "
                f"{_type(schema)} | {_cell(parameter.get('description') or schema.get('description', ''))} |"
            )
        lines.append("")
    body = operation.get("requestBody")
    if body:
        for media_type, content in body.get("content", {}).items():
            lines += [f"Request body (`{media_type}`): {_type(content.get('schema', {}))}", ""]
            example = _example(content)
            if example is not None:
                lines += ["```json", _json(example), "```", ""]
    lines += ["| status | description | body |", "| --- | --- | --- |"]
    examples = []
    for status, response in operation.get("responses", {}).items():
        bodies = ", ".join(
            f"`{media_type}` {_type(content.get('schema', {}))}"
            for media_type, content in response.get("content", {}).items()
        )
        lines.append(f"| {status} | {_cell(response.get('description', ''))} | {bodies} |")
        for media_type, content in response.get("content", {}).items():
            example = _example(content)
            if example is not None and "json" in media_type:
                examples += [f"Example `{status}` (`{media_type}`):", "", "```json", _json(example), "```", ""]
    lines += ["", *examples]
    return lines


def _example(content: dict[str, Any]) -> Any:
    """A media type's example: ``example``, or the first of ``examples``; None when it has none."""
    if "example" in content:
        return content["example"]
    examples: dict[str, dict[str, Any]] = content.get("examples", {})
    return next((one.get("value") for one in examples.values()), None)


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _security(security: list[dict[str, list[str]]]) -> str:
    needs = []
    for requirement in security:
        for scheme, scopes in requirement.items():
            needs.append(f"`{scheme}`" + (f" with scope {', '.join(f'`{s}`' for s in scopes)}" if scopes else ""))
    return "needs " + " or ".join(needs)


def _schema(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", ""]  # under "## Schemas"
    if schema.get("description"):
        lines += [_cell(schema["description"]), ""]
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        lines += ["| field | type | required | description |", "| --- | --- | --- | --- |"]
        for field, definition in properties.items():
            lines.append(
                f"| `{field}` | {_type(definition)} | {'yes' if field in required else 'no'} | "
                f"{_cell(definition.get('description', ''))} |"
            )
    elif "enum" in schema:
        lines.append("One of " + ", ".join(f"`{value}`" for value in schema["enum"]) + ".")
    else:
        lines.append(_type(schema))
    lines.append("")
    return lines


def _type(schema: dict[str, Any]) -> str:
    """A schema in a few words, a reference as a link to its section below."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{slugify(name, '-')})"
    for combiner in ("anyOf", "oneOf", "allOf"):
        if combiner in schema:
            return " or ".join(_type(option) for option in schema[combiner])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    return f"{kind} ({schema['format']})" if "format" in schema else str(kind)


def _cell(text: str) -> str:
    """Text that stays in one table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")
