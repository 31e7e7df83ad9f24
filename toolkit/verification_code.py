"""The verification code of an issued notice: its number and the first characters of the SHA-256 of its data,
printed beside the signatory as text and as a QR code, with the link ``…/verify/<code>`` where the office has a
public address.

**What is hashed.** A document cannot carry its own hash, so the code hashes the notice's *data* — the values the
document was rendered from, the ledger's (or the office's) numbers included — as canonical JSON (``canonical``):
UTF-8; objects with their keys sorted by code point; no whitespace; strings as JSON writes them without escaping
non-ASCII; ``true``, ``false``, ``null``; numbers exactly, in plain decimal notation without exponent, trailing
zeros or a ``+`` (``78.50`` → ``78.5``, ``2`` stays ``2``); dates as ``YYYY-MM-DD``. The code is
``<number>-<first 12 hex digits of the SHA-256>``, e.g. ``津滨政发〔2016〕96号-3f9a2c7b1d04``; the ledger keeps
the data and the whole SHA-256 beside the number, so ``sha256sum`` of the canonical JSON of the ledger's record
gives the code back.

**The number** is the one the document prints as its own: the 发文字号 (``机关代字〔年份〕序号号``) of a notice, the
certificate's own unique number (``x-unique``, 证书编号) of a certificate — always the ledger's or the office's,
never made up: a notice without one gets no code.

**Where.** In the notice templates the 署名/成文日期 table carries the caption ``shenbao:signature`` (invisible);
``stamp`` puts the QR code into the empty cell left of the signatory (the two rows merged) and the printed code
and link in a row under the date, so the seal or signature appearance still covers the 署名 and 成文日期. A user's
template without that table gets them at the end of the document.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any
from urllib.parse import quote, unquote

from lxml import etree

from . import fields
from .catalogue import Form, form
from .notice_layout import SIGNATURE_TABLE, notice_source
from .signing import Problem, UnusablePdf, Verdict
from .values import chinese_date

HASH_CHARS = 12  # hex digits of the SHA-256 in the code: 48 bits beside the number
CODE_LABEL, LINK_LABEL = "验证码：", "查验网址："
QR_MM = 19.0  # the printed QR code's side
_CODE = re.compile(r"验证码[:：](\S+?-[0-9a-f]{%d})(?![0-9a-f])" % HASH_CHARS)

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
PIC = "http://schemas.openxmlformats.org/drawingml/2006/picture"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
_IMAGE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
MEDIA, RELATION = "word/media/shenbao-verification.png", "rIdShenbaoVerification"


def _w(name: str) -> str:
    return f"{{{W}}}{name}"


# --- the code --------------------------------------------------------------------------------------------


def canonical(data: Any) -> bytes:
    """``data`` as canonical JSON (see the module's text): the bytes the code's SHA-256 is taken of."""
    return _json(data).encode("utf-8")


def _json(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_json(str(k))}:{_json(value[k])}" for k in sorted(value, key=str)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_json(v) for v in value) + "]"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, Decimal, float, Fraction)):
        return _number(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return json.dumps(value.isoformat(), ensure_ascii=False)
    return json.dumps(str(value), ensure_ascii=False)


def _number(value: int | Decimal | float | Fraction) -> str:
    if isinstance(value, Fraction):
        exact = Decimal(value.numerator) / Decimal(value.denominator)
    else:
        exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not exact.is_finite():
        return json.dumps(str(value))
    text = format(exact.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def digest(data: Any) -> str:
    """The SHA-256 (hex) of ``data``'s canonical JSON."""
    return hashlib.sha256(canonical(data)).hexdigest()


@dataclass(frozen=True)
class Code:
    """A notice's verification code: its ``number``, the SHA-256 of its data, and the office's public address
    (``base``, e.g. ``https://kjj.example.gov.cn``) if it has one."""

    number: str
    sha256: str
    base: str | None = None

    @property
    def text(self) -> str:
        """The printed code: ``津滨政发〔2016〕96号-3f9a2c7b1d04``."""
        return f"{self.number}-{self.sha256[:HASH_CHARS]}"

    @property
    def link(self) -> str | None:
        """The verification link as printed (readable): ``https://…/verify/津滨政发〔2016〕96号-3f9a2c7b1d04``."""
        return f"{self.base.rstrip('/')}/verify/{self.text}" if self.base else None

    @property
    def qr_content(self) -> str:
        """What the QR code holds: the link, percent-encoded (``%E6%B4%A5…``), or else the code itself."""
        return f"{self.base.rstrip('/')}/verify/{quote(self.text, safe='')}" if self.base else self.text


def split(code: str) -> tuple[str, str] | None:
    """A code (or a verification link, or a QR code's content) as its number and its hash's first characters;
    None when it is no code."""
    text = unquote(code.strip()).rsplit("/verify/", 1)[-1].strip()
    number, _, short = text.rpartition("-")
    if not number or not re.fullmatch(r"[0-9a-f]{%d}" % HASH_CHARS, short):
        return None
    return number, short


def number_of(notice: Form | str, data: Mapping[str, Any]) -> str | None:
    """The number a notice prints as its own: a certificate's unique number (``x-unique``), else the 发文字号."""
    target = form(notice)
    if _layout(target) == "certificate":
        for path, field in fields.leaves(target).items():
            value = fields.get(data, path)
            if field.node.get("x-unique") and isinstance(value, str) and value.strip():
                return value.strip()
    issuer, number = data.get("issuer"), data.get("number")
    if isinstance(issuer, Mapping) and isinstance(number, Mapping) and issuer.get("code") and number.get("serial"):
        return f"{issuer['code']}〔{number.get('year', '')}〕{number['serial']}号"
    return None


def code_for(notice: Form | str, data: Mapping[str, Any], base: str | None = None) -> Code | None:
    """The code of the notice ``data`` (issued with its number), or None when it has no number to carry."""
    number = number_of(notice, data)
    return Code(number, digest(data), base) if number else None


def issued(notice: Form | str, data: Mapping[str, Any], docx: bytes, profile: Mapping[str, Any]) -> bytes:
    """The .docx of a notice issued with the office ``profile``: its code stamped beside the signatory, with the
    link when the profile has a ``verify_url`` (a notice without a number is left as it is)."""
    from .office import verify_url

    code = code_for(notice, data, verify_url(profile))
    return stamp(docx, code) if code is not None else docx


def _layout(target: Form) -> str:
    try:
        return str(notice_source(target.id).get("layout", "official"))
    except FileNotFoundError:
        return "official"


# --- what a verifier may be shown --------------------------------------------------------------------------


def essentials(notice: Form | str, data: Mapping[str, Any]) -> dict[str, str]:
    """What the document itself shows of its record, to compare and to show on the public page: its title, number,
    to whom (主送, or the certificate's named holder), issuer, date and, when it has one, validity."""
    target = form(notice)
    shown = {"title": target.title, "number": number_of(target, data) or "",
             "to": _recipient(target, data), "issuer": str(data.get("signatory") or fields.get(data, "issuer.name")
                                                           or ""),
             "date": _date(data.get("date"))}
    until = next((fields.get(data, p) for p in fields.leaves(target) if p.rsplit(".", 1)[-1] == "valid_until"
                  and fields.get(data, p)), None)
    if until:
        shown["valid_until"] = _date(until)
    return shown


def _recipient(target: Form, data: Mapping[str, Any]) -> str:
    if _layout(target) == "certificate":
        for label, template in notice_source(target.id).get("fields", []):
            path = re.fullmatch(r"\{\{\s*([\w.]+)\s*\}\}", template.strip())
            if label.endswith("名称") and path and fields.get(data, path.group(1)):
                return str(fields.get(data, path.group(1)))
    return str(data.get("addressee") or "")


def _date(value: Any) -> str:
    try:
        return chinese_date(value if isinstance(value, dt.date) else str(value))
    except ValueError:
        return str(value or "")


# --- the QR code ------------------------------------------------------------------------------------------


def qr_png(content: str, scale: int = 8) -> bytes:
    """The QR code of ``content`` as a PNG (segno; error correction M, the quiet zone of four modules)."""
    import segno

    buffer = io.BytesIO()
    segno.make(content, error="m", micro=False, boost_error=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


# --- the code on the document ------------------------------------------------------------------------------


def stamp(docx: bytes, code: Code) -> bytes:
    """The .docx with ``code`` beside its signatory: the QR code in the empty cell left of the 署名 and 成文日期
    and, under them, the printed code and link (see the module's text)."""
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        parts = {item.filename: archive.read(item) for item in archive.infolist()}
        order = [item.filename for item in archive.infolist()]
    body = etree.fromstring(parts["word/document.xml"])
    table = next((t for t in body.iter(_w("tbl"))
                  if t.find(f"{_w('tblPr')}/{_w('tblCaption')}") is not None
                  and t.find(f"{_w('tblPr')}/{_w('tblCaption')}").get(_w("val")) == SIGNATURE_TABLE), None)
    if table is None or not _into_table(table, code):
        _at_end(body, code)
    parts["word/document.xml"] = etree.tostring(body, xml_declaration=True, encoding="UTF-8", standalone=True)
    parts[MEDIA] = qr_png(code.qr_content)
    parts["word/_rels/document.xml.rels"] = _related(parts["word/_rels/document.xml.rels"])
    parts["[Content_Types].xml"] = _typed(parts["[Content_Types].xml"])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in [*order, *(n for n in parts if n not in order)]:
            archive.writestr(name, parts[name])
    return out.getvalue()


def _into_table(table: Any, code: Code) -> bool:
    """The QR code into the first cell of the first two rows (merged), the text into a new last row."""
    rows = table.findall(_w("tr"))
    if len(rows) < 2 or any(len(row.findall(_w("tc"))) < 2 for row in rows[:2]):
        return False
    columns = len(rows[0].findall(_w("tc")))
    for index, row in enumerate(rows[:2]):
        cell = row.findall(_w("tc"))[0]
        properties = cell.find(_w("tcPr"))
        if properties is None:
            properties = etree.Element(_w("tcPr"))
            cell.insert(0, properties)
        merge = _cell_property(properties, "vMerge")
        if index == 0:
            merge.set(_w("val"), "restart")
            _cell_property(properties, "vAlign").set(_w("val"), "center")
            for paragraph in cell.findall(_w("p")):
                cell.remove(paragraph)
            cell.append(_picture_paragraph())
    widths = [int(g.get(_w("w"), "0")) for g in table.iter(_w("gridCol"))]
    row = etree.SubElement(table, _w("tr"))
    cell = etree.SubElement(row, _w("tc"))
    properties = etree.SubElement(cell, _w("tcPr"))
    width = etree.SubElement(properties, _w("tcW"))
    width.set(_w("w"), str(sum(widths)))
    width.set(_w("type"), "dxa")
    if columns > 1:
        etree.SubElement(properties, _w("gridSpan")).set(_w("val"), str(columns))
    for paragraph in _text_paragraphs(code):
        cell.append(paragraph)
    return True


_TCPR_ORDER = ("cnfStyle", "tcW", "gridSpan", "hMerge", "vMerge", "tcBorders", "shd", "noWrap", "tcMar",
               "textDirection", "tcFitText", "vAlign", "hideMark")


def _cell_property(properties: Any, name: str) -> Any:
    """A new ``w:<name>`` in a cell's ``w:tcPr`` at the place the schema gives it (an old one replaced)."""
    for old in properties.findall(_w(name)):
        properties.remove(old)
    element = etree.Element(_w(name))
    rank = _TCPR_ORDER.index(name)
    later = [c for c in properties if etree.QName(c).localname in _TCPR_ORDER
             and _TCPR_ORDER.index(etree.QName(c).localname) > rank]
    if later:
        later[0].addprevious(element)
    else:
        properties.append(element)
    return element


def _at_end(body: Any, code: Code) -> None:
    """A template without the 署名 table: the QR code and the text at the end of the document."""
    container = body.find(_w("body"))
    section = container.find(_w("sectPr"))
    for paragraph in (_picture_paragraph(), *_text_paragraphs(code)):
        if section is not None:
            section.addprevious(paragraph)
        else:
            container.append(paragraph)


def _paragraph(keep_next: bool = False) -> Any:
    """A left-aligned paragraph of single line spacing (the notice's exact 3号 pitch would clip the picture)."""
    paragraph = etree.Element(_w("p"), nsmap={"w": W})
    properties = etree.SubElement(paragraph, _w("pPr"))
    if keep_next:
        etree.SubElement(properties, _w("keepNext"))
    spacing = etree.SubElement(properties, _w("spacing"))
    for key, value in (("before", "0"), ("after", "0"), ("line", "240"), ("lineRule", "auto")):
        spacing.set(_w(key), value)
    indent = etree.SubElement(properties, _w("ind"))
    indent.set(_w("left"), "0")
    indent.set(_w("firstLine"), "0")
    etree.SubElement(properties, _w("jc")).set(_w("val"), "left")
    return paragraph


def _picture_paragraph() -> Any:
    paragraph = _paragraph(keep_next=True)
    run = etree.SubElement(paragraph, _w("r"))
    side = int(QR_MM * 36000)  # EMU
    inline = etree.fromstring(
        f'<wp:inline xmlns:wp="{WP}" xmlns:a="{A}" xmlns:pic="{PIC}" xmlns:r="{R}" distT="0" distB="0" distL="0" '
        f'distR="0"><wp:extent cx="{side}" cy="{side}"/><wp:docPr id="7341" name="验证码" descr="验证码二维码"/>'
        '<wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect="1"/></wp:cNvGraphicFramePr>'
        f'<a:graphic><a:graphicData uri="{PIC}"><pic:pic><pic:nvPicPr><pic:cNvPr id="0" name="验证码.png"/>'
        f'<pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed="{RELATION}"/><a:stretch><a:fillRect/>'
        f'</a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{side}" cy="{side}"/>'
        '</a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData>'
        '</a:graphic></wp:inline>')
    etree.SubElement(run, _w("drawing")).append(inline)
    return paragraph


def _text_paragraphs(code: Code) -> list[Any]:
    from .docx_parts import FANGSONG, LATIN, SIZE

    lines = [CODE_LABEL + code.text] + ([LINK_LABEL + code.link] if code.link else [])
    paragraphs = []
    for line in lines:
        paragraph = _paragraph()
        run = etree.SubElement(paragraph, _w("r"))
        properties = etree.SubElement(run, _w("rPr"))
        font = etree.SubElement(properties, _w("rFonts"))
        for key, value in (("ascii", LATIN), ("hAnsi", LATIN), ("eastAsia", FANGSONG)):
            font.set(_w(key), value)
        half_points = str(int(SIZE["小五"] * 2))
        etree.SubElement(properties, _w("sz")).set(_w("val"), half_points)
        etree.SubElement(properties, _w("szCs")).set(_w("val"), half_points)
        text = etree.SubElement(run, _w("t"))
        text.text = line
        text.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        paragraphs.append(paragraph)
    return paragraphs


def _related(rels: bytes) -> bytes:
    root = etree.fromstring(rels)
    if not any(r.get("Id") == RELATION for r in root):
        relation = etree.SubElement(root, f"{{{_RELS}}}Relationship")
        for key, value in (("Id", RELATION), ("Type", _IMAGE), ("Target", MEDIA.removeprefix("word/"))):
            relation.set(key, value)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def _typed(types: bytes) -> bytes:
    root = etree.fromstring(types)
    if not any(t.get("Extension", "").lower() == "png" for t in root):
        default = etree.Element(f"{{{_TYPES}}}Default")
        default.set("Extension", "png")
        default.set("ContentType", "image/png")
        root.insert(0, default)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


# --- the code read back -----------------------------------------------------------------------------------


def printed_code(text: str) -> str | None:
    """The verification code printed in a document's ``text`` (its last, when a merged file holds several)."""
    found = _CODE.findall(re.sub(r"\s+", "", text))
    return found[-1] if found else None


def document_text(pdf: bytes) -> str:
    """The text of a PDF's pages (pdfplumber), for ``printed_code`` and the comparison with a record."""
    import pdfplumber

    try:
        with pdfplumber.open(io.BytesIO(pdf)) as document:
            return "\n".join(page.extract_text() or "" for page in document.pages)
    except Exception as exc:  # pdfminer raises many kinds on a broken file
        raise UnusablePdf(f"无法读取 PDF 的文字（{type(exc).__name__}）") from None


def shows(text: str, value: str) -> bool:
    """Whether the document's ``text`` prints ``value`` (whitespace ignored: LibreOffice sets gaps between Chinese
    and Latin characters, and long names break over lines)."""
    squeezed = re.sub(r"\s+", "", value)
    return bool(squeezed) and squeezed in re.sub(r"\s+", "", text)


def without_code(text: str, code: str) -> str:
    """``text`` (whitespace removed) without the printed code and link: the rest of the document."""
    squeezed = re.sub(r"\s+", "", text)
    return re.sub(r"(验证码[:：]|查验网址[:：]\S*?/verify/)" + re.escape(code), "", squeezed)


def check(verdict: Verdict, text: str) -> Verdict:
    """``verdict`` (the signature's) with the document's printed code, checked against the document itself: the
    number it carries must be printed elsewhere in the document too (a code copied from another document carries
    another number)."""
    code = printed_code(text)
    if code is None:
        return replace(verdict, notes=(*verdict.notes, "文件上没有验证码"))
    number = (split(code) or ("", ""))[0]
    verdict = replace(verdict, code=code)
    if not shows(without_code(text, code), number):
        return verdict.adding(Problem("copied", f"验证码上的编号「{number}」不见于文件正文：验证码是从另一份文件"
                                                "复制来的"))
    return verdict
