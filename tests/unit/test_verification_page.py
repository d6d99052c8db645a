"""Public verification for people: a certificate's standing (the domain's one word), the choice between the page and
JSON by ``Accept``, and the page itself (escaped, bilingual, loading nothing, allowed only its own style)."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import date, timedelta

import pytest

from functions.api.negotiation import preferred_media_type
from functions.api.responses import VerificationOut
from functions.api.verification_page import CONTENT_SECURITY_POLICY, not_found_page, verification_page
from jevs.domain.records import CertificateStatus, Usage
from jevs.domain.standing import Standing, standing_on
from tests.unit.matching_support import record

pytestmark = pytest.mark.unit

JSON, HTML = "application/json", "text/html"
OFFERED = (JSON, HTML)


# -- standing ---------------------------------------------------------------------------------------------------

EXAMPLE = record()
FIRST, LAST = EXAMPLE.valid_from, EXAMPLE.valid_until


@pytest.mark.parametrize(
    ("status", "usage", "today", "standing"),
    [
        pytest.param(CertificateStatus.ISSUED, Usage.UNUSED, FIRST, Standing.VALID, id="first-day"),
        pytest.param(CertificateStatus.ISSUED, Usage.UNUSED, LAST, Standing.VALID, id="last-day"),
        pytest.param(CertificateStatus.ISSUED, Usage.USED, FIRST, Standing.USED, id="used"),
        pytest.param(CertificateStatus.ISSUED, Usage.UNUSED, LAST + timedelta(days=1), Standing.EXPIRED, id="expired"),
        pytest.param(
            CertificateStatus.ISSUED, Usage.USED, LAST + timedelta(days=1), Standing.EXPIRED, id="used-expired"
        ),
        pytest.param(
            CertificateStatus.ISSUED, Usage.UNUSED, FIRST - timedelta(days=1), Standing.NOT_YET_VALID, id="early"
        ),
        pytest.param(CertificateStatus.REPLACED, Usage.UNUSED, FIRST, Standing.REPLACED, id="replaced"),
        pytest.param(
            CertificateStatus.REPLACED, Usage.USED, LAST + timedelta(days=1), Standing.REPLACED, id="replaced-expired"
        ),
        pytest.param(CertificateStatus.REVOKED, Usage.USED, FIRST, Standing.REVOKED, id="revoked-used"),
        pytest.param(
            CertificateStatus.REVOKED, Usage.UNUSED, LAST + timedelta(days=1), Standing.REVOKED, id="revoked-expired"
        ),
    ],
)
def test_what_became_of_a_certificate_comes_before_its_dates_and_its_dates_before_its_use(
    status: CertificateStatus, usage: Usage, today: date, standing: Standing
) -> None:
    assert standing_on(EXAMPLE.model_copy(update={"status": status, "usage": usage}), today) is standing


# -- negotiation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        pytest.param(None, JSON, id="no-header"),
        pytest.param("", JSON, id="empty"),
        pytest.param("*/*", JSON, id="anything"),
        pytest.param("application/json", JSON, id="json"),
        pytest.param("text/html", HTML, id="html"),
        pytest.param(
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", HTML, id="chromium"
        ),
        pytest.param("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", HTML, id="firefox"),
        pytest.param("text/*, application/json;q=0.9", HTML, id="text-range"),
        pytest.param("text/html;q=0.5, application/json", JSON, id="json-ranked-higher"),
        pytest.param("text/html, application/json", JSON, id="a-tie-keeps-json"),
        pytest.param("TEXT/HTML; Q=1, application/json; q=0.2", HTML, id="case-insensitive"),
        pytest.param("text/html;q=0, */*", JSON, id="html-refused"),
        pytest.param("text/html;q=oops, application/json;q=0.1", JSON, id="a-malformed-q-counts-as-zero"),
        pytest.param("garbage, text/html", HTML, id="a-malformed-range-is-skipped"),
        pytest.param("image/png", JSON, id="neither-accepted"),
    ],
)
def test_the_page_is_chosen_only_when_html_is_ranked_above_json(accept: str | None, chosen: str) -> None:
    assert preferred_media_type(accept, OFFERED) == chosen


# -- the page ---------------------------------------------------------------------------------------------------


def verification(**fields: object) -> VerificationOut:
    values: dict[str, object] = {
        "certificate_number": "11.1234.12345",
        "status": CertificateStatus.ISSUED,
        "currently_valid": True,
        "standing": Standing.VALID,
        "issuing_body": "Auckland Business Chamber",
        "issue_date": date(2026, 11, 20),
        "valid_from": date(2026, 11, 20),
        "valid_until": date(2027, 11, 19),
        "digest_matches": True,
    }
    return VerificationOut.model_validate(values | fields)


def test_the_content_security_policy_allows_exactly_the_pages_own_style() -> None:
    page = verification_page(verification())

    styles = re.findall(r"<style>(.*?)</style>", page, flags=re.DOTALL)
    assert len(styles) == 1
    expected = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert (
        f"default-src 'none'; style-src 'sha256-{expected}'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ) == CONTENT_SECURITY_POLICY


def test_the_page_loads_nothing_and_runs_nothing() -> None:
    page = verification_page(verification(standing=Standing.REPLACED, replaced_by="11.1234.20001"))

    assert not re.search(r"<(script|link|img|iframe|object|embed|form)\b", page)
    assert not re.search(r"\s(src|srcset)=|\son[a-z]+=|url\(|@import|https?://", page)


@pytest.mark.parametrize(
    ("standing", "english", "chinese"),
    [
        (Standing.VALID, "Valid", "有效"),
        (Standing.USED, "Valid, already used", "有效，已使用"),
        (Standing.EXPIRED, "Expired", "已过期"),
        (Standing.NOT_YET_VALID, "Not yet valid", "尚未生效"),
        (Standing.REPLACED, "Replaced", "已被替换"),
        (Standing.REVOKED, "Revoked", "已撤销"),
    ],
)
def test_each_standing_is_the_pages_first_heading_in_english_and_chinese(
    standing: Standing, english: str, chinese: str
) -> None:
    page = verification_page(verification(standing=standing, replaced_by="11.1234.20001"))

    heading = re.search(r'<h2 id="standing">(.*?)</h2>', page)
    assert heading is not None
    assert heading.group(1).endswith(f'</span> {english} <span class="zh" lang="zh-Hans">{chinese}</span>')
    assert f"<title>Certificate 11.1234.12345: {english} · 证书 11.1234.12345：{chinese} | JEVS</title>" in page


def test_the_page_is_in_english_with_its_chinese_marked_simplified_chinese() -> None:
    page = verification_page(verification())

    assert '<html lang="en">' in page
    assert '<p lang="zh-Hans">本证书有效期至 <time datetime="2027-11-19">2027-11-19</time>' in page
    chinese_outside_marked_text = re.sub(r'<(span|p) [^>]*lang="zh-Hans">.*?</\1>', "", page, flags=re.DOTALL)
    chinese_outside_marked_text = re.sub(r"<title>.*?</title>", "", chinese_outside_marked_text)
    assert not re.search(r"[\u4e00-\u9fff]", chinese_outside_marked_text)


def test_a_hostile_issuing_body_name_is_text_on_the_page() -> None:
    page = verification_page(verification(issuing_body="</dd><script>alert(\"x\")</script><dd a='b'>"))

    assert "<dd>&lt;/dd&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;dd a=&#x27;b&#x27;&gt;</dd>" in page
    assert "<script" not in page


def test_a_replaced_certificate_links_to_the_replacements_page_beside_this_one() -> None:
    page = verification_page(verification(standing=Standing.REPLACED, replaced_by="11.1234.20001"))

    assert '<a href="./11.1234.20001" rel="nofollow">Verify the replacement, certificate 11.1234.20001 ' in page


def test_only_a_replaced_certificate_links_anywhere() -> None:
    assert "<a " not in verification_page(verification(standing=Standing.REVOKED))


@pytest.mark.parametrize(
    ("matches", "english"),
    [
        (True, "The data printed on the certificate matches what JEVS holds."),
        (False, "The data printed on the certificate does NOT match what JEVS holds"),
        (None, "No digest was given"),
    ],
)
def test_the_page_says_whether_the_printed_data_matches(matches: bool | None, english: str) -> None:
    printed = re.search(
        r'<h2 id="printed">.*?</section>', verification_page(verification(digest_matches=matches)), flags=re.DOTALL
    )

    assert printed is not None
    assert english in printed.group(0)


def test_a_number_not_found_is_escaped_and_cut_short() -> None:
    page = not_found_page("<script>" + "9" * 100)

    assert "JEVS holds no certificate numbered &lt;script&gt;" + "9" * 32 + "…:" in page
    assert "<script" not in page
    assert "9" * 33 not in page
