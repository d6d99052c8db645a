"""The verification page: what a person who scans the QR code on a certificate's paper sees in a browser.

It is rendered from the public verification's response model (``VerificationOut``), so it can show nothing the
JSON answer does not: the certificate's standing, who issued it and when, its validity and whether the printed data
matches, in English and Simplified Chinese. Every value is escaped; the page loads nothing (no script, image, font
or style sheet from anywhere), and its Content-Security-Policy allows only its own inline style, by hash.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from functions.api.responses import VerificationOut
from jevs.domain.standing import Standing

HTML = "text/html; charset=utf-8"
# Longer than any real number in either form (13 and 14 characters), short enough to keep the page readable.
_LONGEST_NUMBER_SHOWN = 40
ZH = "zh-Hans"

_STYLE = """
:root{color-scheme:light;line-height:1.5;color:#1a1a1a;background:#f3f4f6;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC","PingFang SC",
"Microsoft YaHei","WenQuanYi Micro Hei",sans-serif}
body{margin:0}
main{max-width:36rem;margin:0 auto;padding:1rem}
header p{margin:0;font-size:.9rem;color:#3d4450}
h1{font-size:1.4rem;line-height:1.3;margin:.25rem 0 1rem}
h2{font-size:1.2rem;line-height:1.3;margin:0 0 .5rem}
p{margin:.5rem 0}
.zh{display:block;font-size:.93em}
section{background:#fff;border:1px solid #d5d9e0;border-radius:.5rem;padding:1rem;margin:0 0 1rem}
.verdict{border-left-width:.5rem}
.good{border-left-color:#17743a}.good h2{color:#17743a}
.caution{border-left-color:#8f5200}.caution h2{color:#8f5200}
.bad{border-left-color:#b3261e}.bad h2{color:#b3261e}
dl{margin:0}
dl div{padding:.5rem 0;border-top:1px solid #e6e8ec}
dl div:first-child{border-top:0;padding-top:0}
dt{font-size:.85rem;color:#4a5160}
dd{margin:0;font-weight:600;overflow-wrap:anywhere}
a{color:#0b57d0;font-weight:600}
footer{font-size:.8rem;color:#4a5160}
time{white-space:nowrap}
"""

# The one thing the page may load is its own inline style: allowed by its hash, so an injected <style> or <script>
# (were escaping ever to fail) would not run, and nothing is fetched from anywhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()}'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Sent with the page: no sniffing it into something else, no framing, and the digest in its address stays here.
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class _Words:
    english: str
    chinese: str

    def html(self) -> str:
        """English, then the Chinese on its own line, each marked with its language."""
        return f'{escape(self.english)} <span class="zh" lang="{ZH}">{escape(self.chinese)}</span>'


@dataclass(frozen=True)
class _Verdict:
    heading: _Words
    # How the verdict looks: good (green), caution (amber) or bad (red); the words say it too, never colour alone.
    tone: str
    sign: str


_VERDICTS = {
    Standing.VALID: _Verdict(_Words("Valid", "有效"), "good", "✓"),
    Standing.USED: _Verdict(_Words("Valid, already used", "有效，已使用"), "caution", "!"),
    Standing.EXPIRED: _Verdict(_Words("Expired", "已过期"), "bad", "✗"),
    Standing.NOT_YET_VALID: _Verdict(_Words("Not yet valid", "尚未生效"), "caution", "!"),
    Standing.REPLACED: _Verdict(_Words("Replaced", "已被替换"), "bad", "✗"),
    Standing.REVOKED: _Verdict(_Words("Revoked", "已撤销"), "bad", "✗"),
}


def _explanation(verification: VerificationOut) -> _Words:
    until, since = verification.valid_until.isoformat(), verification.valid_from.isoformat()
    match verification.standing:
        case Standing.VALID:
            return _Words(
                f"This certificate is valid until {until}. It may be used for one import declaration in China.",
                f"本证书有效期至 {until}，可用于一份中国进口报关单。",
            )
        case Standing.USED:
            return _Words(
                f"This certificate is valid until {until}, but it has already been used for an import declaration "
                "in China: it cannot be used for another.",
                f"本证书有效期至 {until}，但已用于一份中国进口报关单，不能再用于其他报关单。",
            )
        case Standing.EXPIRED:
            return _Words(f"This certificate's validity ended on {until}.", f"本证书的有效期已于 {until} 结束。")
        case Standing.NOT_YET_VALID:
            return _Words(
                f"This certificate is valid from {since}: not yet.", f"本证书自 {since} 起生效，目前尚未生效。"
            )
        case Standing.REPLACED:
            return _Words(
                f"This certificate was replaced by certificate {verification.replaced_by}: only the replacement "
                "counts now.",
                f"本证书已由证书 {verification.replaced_by} 替换，现以替换证书为准。",
            )
        case Standing.REVOKED:
            return _Words(
                "This certificate was revoked by its issuing body: it is not valid.",
                "本证书已被签证机构撤销，无效。",
            )


def _with_dates(text: str, *days: str) -> str:
    """``text`` escaped, each ISO date in it marked as one (a ``<time>`` that never breaks at its hyphens)."""
    marked = escape(text)
    for day in dict.fromkeys(days):
        marked = marked.replace(day, f'<time datetime="{day}">{day}</time>')
    return marked


def _digest_words(matches: bool | None) -> tuple[_Words, str]:
    if matches is None:
        return _Words(
            "No digest was given: open the address in the QR code printed on the certificate to check its printed "
            "data as well.",
            "未提供摘要：请扫描证书上印制的二维码，以同时核对证书上的印刷数据。",
        ), "caution"
    if matches:
        return _Words(
            "The data printed on the certificate matches what JEVS holds.",
            "证书上的印刷数据与 JEVS 所存数据一致。",
        ), "good"
    return _Words(
        "The data printed on the certificate does NOT match what JEVS holds: the paper may have been altered, or it "
        "is not the current version of this certificate.",
        "证书上的印刷数据与 JEVS 所存数据不一致：该纸质证书可能已被篡改，或不是本证书的现行版本。",
    ), "bad"


def _page(title: _Words, body: str) -> str:
    heading = _Words("Certificate of origin: verification", "原产地证书核查")
    scheme = _Words("China–New Zealand Free Trade Agreement", "中国—新西兰自由贸易协定")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{escape(title.english)} · {escape(title.chinese)} | JEVS</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"<header><p>{scheme.html()}</p><h1>{heading.html()}</h1></header>\n"
        f"{body}"
        "<footer><p>"
        + _Words(
            "JEVS, the Joint Electronic Verification System, shows here only what anyone may know of a certificate: "
            "never the goods, the parties or the invoices.",
            "JEVS（联合电子核查系统）在此仅显示任何人均可知悉的证书信息，不显示货物、当事方或发票。",
        ).html()
        + "</p></footer>\n</main>\n</body>\n</html>\n"
    )


def _row(label: _Words, value: str) -> str:
    return f"<div><dt>{label.html()}</dt><dd>{escape(value)}</dd></div>\n"


def verification_page(verification: VerificationOut) -> str:
    """The page for a certificate JEVS holds."""
    verdict = _VERDICTS[verification.standing]
    explanation = _explanation(verification)
    days = (verification.valid_from.isoformat(), verification.valid_until.isoformat())
    replacement = ""
    if verification.standing is Standing.REPLACED and verification.replaced_by:
        # Relative to this page, so it works under any base path (a custom domain, or the stage's own address).
        target = "./" + quote(verification.replaced_by, safe="")
        link = _Words(
            f"Verify the replacement, certificate {verification.replaced_by}",
            f"核查替换证书 {verification.replaced_by}",
        )
        replacement = f'<p><a href="{escape(target)}" rel="nofollow">{link.html()}</a></p>\n'
    digest, digest_tone = _digest_words(verification.digest_matches)
    number = verification.certificate_number
    body = (
        f'<section class="verdict {verdict.tone}" aria-labelledby="standing">\n'
        f'<h2 id="standing"><span aria-hidden="true">{verdict.sign}</span> {verdict.heading.html()}</h2>\n'
        f"<p>{_with_dates(explanation.english, *days)}</p>\n"
        f'<p lang="{ZH}">{_with_dates(explanation.chinese, *days)}</p>\n'
        f"{replacement}</section>\n"
        f'<section class="verdict {digest_tone}" aria-labelledby="printed">\n'
        f'<h2 id="printed">{_Words("Printed data", "印刷数据").html()}</h2>\n'
        f'<p>{escape(digest.english)}</p>\n<p lang="{ZH}">{escape(digest.chinese)}</p>\n</section>\n'
        '<section aria-labelledby="certificate">\n'
        f'<h2 id="certificate">{_Words("Certificate", "证书").html()}</h2>\n<dl>\n'
        f"{_row(_Words('Certificate number', '证书编号'), number)}"
        f"{_row(_Words('Issuing body', '签证机构'), verification.issuing_body)}"
        f"{_row(_Words('Date of issue', '签发日期'), verification.issue_date.isoformat())}"
        f"{_row(_Words('Valid from', '有效期自'), verification.valid_from.isoformat())}"
        f"{_row(_Words('Valid until', '有效期至'), verification.valid_until.isoformat())}"
        "</dl>\n</section>\n"
    )
    title = _Words(f"Certificate {number}: {verdict.heading.english}", f"证书 {number}：{verdict.heading.chinese}")
    return _page(title, body)


def not_found_page(number: str) -> str:
    """The page for a number JEVS holds no certificate under (``number`` as the caller wrote it, so escaped, and cut
    short: it is anyone's text)."""
    shown = number if len(number) <= _LONGEST_NUMBER_SHOWN else number[:_LONGEST_NUMBER_SHOWN] + "…"
    explanation = _Words(
        f"JEVS holds no certificate numbered {shown}: a paper that bears this number was not issued through JEVS. "
        "Ask the issuing body named on it.",
        f"JEVS 中没有编号为 {shown} 的证书：带有此编号的纸质证书并非通过 JEVS 签发。请向证书上所列的签证机构核实。",
    )
    body = (
        '<section class="verdict bad" aria-labelledby="standing">\n'
        f'<h2 id="standing"><span aria-hidden="true">✗</span> {_Words("Not found", "未找到").html()}</h2>\n'
        f'<p>{escape(explanation.english)}</p>\n<p lang="{ZH}">{escape(explanation.chinese)}</p>\n</section>\n'
    )
    return _page(_Words("Certificate not found", "未找到证书"), body)
