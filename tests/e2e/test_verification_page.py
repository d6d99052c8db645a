"""The verification page in a real browser: headless Chromium opens the address a certificate's QR code carries, on
the local stack, for a valid, a revoked and a replaced certificate, and reads what a person would see; a screenshot
of each, at a phone's size, is written to ``test-artifacts/verification-page/`` (git-ignored).

Needs Debian's ``chromium`` (``apt-get install chromium``); without it these tests are skipped, saying so.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest

from infrastructure.build import ROOT
from infrastructure.local.stack import LocalStack
from jevs.adapters.clock import SystemClock
from jevs.adapters.table.dynamodb import DynamoTable
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.documents.printed import verification_url
from jevs.resources import RECORDS_TABLE
from tests.e2e.partners import Partners, certificate_number
from tests.factories import certificate_payload

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "test-artifacts" / "verification-page"
# A phone held upright (CSS pixels), as a person scanning the QR code holds it.
PHONE = (390, 1100)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed: the browser tests need Debian's chromium (apt-get install chromium)",
)


@dataclass(frozen=True)
class Seen:
    """What the browser made of a page: its DOM after rendering, what it logged, and its screenshot."""

    dom: str
    log: str
    screenshot: Path


class Browser:
    """Headless Chromium as a person's browser: its own Accept header, nothing but the page, one fresh profile."""

    def __init__(self, executable: str, profile: Path) -> None:
        self._executable = executable
        self._profile = profile

    def _run(self, url: str, *action: str) -> subprocess.CompletedProcess[str]:
        command = [
            self._executable,
            "--headless",
            # As root (CI and these machines) Chromium's sandbox cannot start.
            "--no-sandbox",
            "--disable-gpu",
            # This machine has no network but loopback: no background calls to Google's hosts.
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            # The page's console (a Content-Security-Policy refusal among it) goes to stderr.
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={self._profile}",
            f"--window-size={PHONE[0]},{PHONE[1]}",
            *action,
            url,
        ]
        # S603: the browser found on PATH, opening addresses of the local stack only.
        completed = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)  # noqa: S603
        assert completed.returncode == 0, completed.stderr[-2000:]
        return completed

    def open(self, url: str, name: str) -> Seen:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        screenshot = ARTIFACTS / f"{name}.png"
        screenshot.unlink(missing_ok=True)
        dumped = self._run(url, "--dump-dom")
        shot = self._run(url, f"--screenshot={screenshot}")
        return Seen(dom=dumped.stdout, log=dumped.stderr + shot.stderr, screenshot=screenshot)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Browser:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed")
    return Browser(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))


@pytest.fixture(scope="module")
def partners(stack: LocalStack) -> Iterator[Partners]:
    caller = Partners(stack)
    yield caller
    caller.close()


def qr_code_address(stack: LocalStack, number: str) -> str:
    """The address the certificate's QR code carries: its verification URL with the digest of its printed data."""
    table = DynamoTable(stack.aws_client("dynamodb"), RECORDS_TABLE, stack.resources.records_table)
    record = TableUnitOfWork(table, SystemClock()).certificates.get(number)
    assert record is not None
    return verification_url(stack.api_url, record)


def standing_heading(dom: str) -> str:
    found = re.search(r'<h2 id="standing">(.*?)</h2>', dom, flags=re.DOTALL)
    assert found is not None, dom[:2000]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def assert_shown_as_a_person_sees_it(seen: Seen) -> None:
    """The page in Chromium: styled (its CSP let its own style through), in both languages, with a screenshot."""
    assert '<html lang="en">' in seen.dom
    assert 'lang="zh-Hans"' in seen.dom
    assert "Content Security Policy" not in seen.log, seen.log[-2000:]
    assert png_size(seen.screenshot) == PHONE


@needs_chromium
def test_a_valid_certificate_reads_valid_and_its_paper_matches(
    stack: LocalStack, partners: Partners, browser: Browser
) -> None:
    number = partners.certificate()

    seen = browser.open(qr_code_address(stack, number), "valid")

    assert standing_heading(seen.dom) == "✓ Valid 有效"
    assert "<dd>Auckland Business Chamber</dd>" in seen.dom
    assert "The data printed on the certificate matches what JEVS holds." in seen.dom
    assert "Kauri Dairy" not in seen.dom
    assert_shown_as_a_person_sees_it(seen)


@needs_chromium
def test_a_revoked_certificate_reads_revoked(stack: LocalStack, partners: Partners, browser: Browser) -> None:
    number = partners.certificate()
    address = qr_code_address(stack, number)
    revoked = partners.post(f"/v1/certificates/{number}/revocation", {"reason": "Origin not proven"})
    assert revoked.status_code == 200, revoked.text

    seen = browser.open(address, "revoked")

    assert standing_heading(seen.dom) == "✗ Revoked 已撤销"
    assert "This certificate was revoked by its issuing body: it is not valid." in seen.dom
    assert_shown_as_a_person_sees_it(seen)


@needs_chromium
def test_a_replaced_certificate_reads_replaced_and_links_to_its_replacement(
    stack: LocalStack, partners: Partners, browser: Browser
) -> None:
    number, replacement = partners.certificate(), certificate_number()
    address = qr_code_address(stack, number)
    corrected = {
        "reason": "Invoice number corrected",
        "certificate": certificate_payload(certificate_number=replacement),
    }
    replaced = partners.post(f"/v1/certificates/{number}/replacement", corrected)
    assert replaced.status_code == 201, replaced.text

    seen = browser.open(address, "replaced")
    link = re.search(r'<a href="([^"]+)" rel="nofollow">', seen.dom)
    assert link is not None
    # Where the browser goes when the person taps the link.
    followed = browser.open(urljoin(address, link.group(1)), "replacement")

    assert standing_heading(seen.dom) == "✗ Replaced 已被替换"
    assert link.group(1) == f"./{replacement}"
    assert standing_heading(followed.dom) == "✓ Valid 有效"
    assert f"<dd>{replacement}</dd>" in followed.dom
    assert_shown_as_a_person_sees_it(seen)
