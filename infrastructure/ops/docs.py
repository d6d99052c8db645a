"""``make cli-docs``: docs/operations/cli.md, the ``--help`` of ``jevs`` and of each of its commands, as the CLI
prints them (tests/unit/test_ops_cli.py fails when the page and the CLI differ)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer.core
import typer.main
from typer.testing import CliRunner

from infrastructure.ops.cli import app

PAGE = Path(__file__).resolve().parents[2] / "docs" / "operations" / "cli.md"
# The help as a terminal this wide, plain: the same page on every machine.
WIDTH = 100
INTRODUCTION = """\
# The operations CLI: `jevs`

`jevs` is what an operator runs to keep messages flowing: the dead-letter queues and their counts, the parked
deliveries, a redrive followed with a progress bar, a certificate's journey to China Customs, the signing key's
rotation. `make venv` installs it as `.venv/bin/jevs`; `make redrive` runs `jevs redrive deliveries --wait`.
Every command prints a table for people, or JSON for scripts with `--json`.

## Where it points

`--profile local` (the default) needs nothing: the stack `make run` starts (the API on `http://127.0.0.1:8080`, its
token endpoint, the demo `ops` client, moto on port 4566; or the ports `JEVS_API_PORT` and `JEVS_MOTO_PORT` give).
For AWS, write a profile in `~/.config/jevs/profiles.toml` (or the file `JEVS_PROFILE_FILE` names), one table per
profile:

```toml
[aws]
api_url = "https://api.jevs.example"
token_url = "https://jevs.auth.ap-southeast-2.amazoncognito.com/oauth2/token"
client_id = "the ops app client's id"
client_secret = "its secret"      # or leave it out and set JEVS_CLIENT_SECRET
api_key = "the ops party's API key"
region = "ap-southeast-2"
```

and run `jevs --profile aws ...` (or set `JEVS_PROFILE=aws`). The environment overrides any profile's value:
`JEVS_API_URL`, `JEVS_TOKEN_URL`, `JEVS_CLIENT_ID`, `JEVS_CLIENT_SECRET`, `JEVS_OPS_API_KEY` (API Gateway's
`x-api-key`), `JEVS_AWS_URL` (where SQS and KMS answer; empty or absent in a profile of AWS: AWS itself) and
`AWS_DEFAULT_REGION`. The token is fetched once per run and kept in memory only.

Most commands call the API as the `ops` party, exactly as a partner's tooling would. Where the API has no route,
`jevs` asks AWS itself with your AWS credentials (locally: moto): the dead-letter queues' counts and contents
(`queues`, `parked`, and the total of `redrive --wait`'s progress bar) and the signing key (`rotate-key`). In AWS
that takes `sqs:GetQueueUrl`, `sqs:GetQueueAttributes` and `sqs:ReceiveMessage` on the `jevs-*` queues,
`kms:Decrypt` on the queues' key (they are encrypted with it), and for `rotate-key` the KMS calls of the README's
"Keys that rotate". `parked` reads the deliveries' dead-letter queue without taking anything: each message it reads
is visible again at once, for the redrive.

## Commands

The sections below are each command's `--help`, generated (`make cli-docs`).
"""


def help_text(*command: str) -> str:
    result = CliRunner().invoke(
        app, [*command, "--help"], prog_name="jevs", terminal_width=WIDTH, color=False, env={"NO_COLOR": "1"}
    )
    if result.exit_code != 0:
        raise RuntimeError(f"jevs {' '.join(command)} --help failed: {result.output}")
    return "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())


def page() -> str:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    sections = [INTRODUCTION]
    for command in [(), *((name,) for name in group.commands)]:
        title = " ".join(("jevs", *command))
        sections.append(f"### `{title}`\n\n```text\n{help_text(*command)}\n```\n")
    return "\n".join(sections)


def main() -> int:
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(page(), encoding="utf-8")
    print(f"wrote {PAGE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
