"""Digital signatures on issued PDFs, in memory: PAdES (pyHanko) with a visible seal over the 署名 and 成文日期,
test keys that say so, and the check of a signed file.

``Signer(p12, password)`` loads the office's PKCS#12 key once; ``signer.sign(pdf)`` signs one document (a batch
calls it per document). The signature is PAdES baseline B (``ETSI.CAdES.detached``, SHA-256) in a new signature
field whose appearance — a red seal with the signer's name round its rim — lies over the seal position: the
signatory's name and the date under it, found on the last page (``seal_box``). ``keygen()`` makes a self-signed
key for trying the toolkit; its certificate carries ``TEST_MARK`` in its subject, and every signature made with
such a key has ``测试证书，不具效力`` in its reason and on its seal.

``verify(pdf, trust)`` checks every signature of the file: intact (the signed bytes hash as signed, the
cryptographic signature valid), covering the whole file (nothing appended after signing: a page, a note, a second
version), and made by a certificate in ``trust`` (or issued by one). The ``Verdict`` says which key signed and each
problem with its own kind. What the signature proves and what it does not: ``docs/signing.md``.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from .errors import ShenbaoError

TEST_MARK = "测试证书，不具效力"  # in a test key's subject (OU) and in every reason signed with one
_TEST_UNIT = f"shenbao-toolkit {TEST_MARK}"
FIELD = "发文机关签名"  # the signature field's name (a number is added when the file has one already)
SEAL_PT = 42 * 72 / 25.4  # a seal's diameter: 42 mm (the common size of an office's round seal)
SEAL_RED = (0.86, 0.08, 0.08)
# pyHanko logs an untrusted signer with its traceback: the verdict says it; a program that wants the log configures
# these loggers itself
for _library in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_library).addHandler(logging.NullHandler())


class SigningError(ShenbaoError):
    """A key that cannot be used (wrong password, not a PKCS#12 file) or a PDF that cannot be signed."""


class UnusablePdf(ShenbaoError):
    """A file that is not a PDF that can be read at all (its signatures cannot even be looked at)."""


# --- keys ----------------------------------------------------------------------------------------------------


def keygen(name: str = "测试发文机关", password: bytes | None = None, *, days: int = 730) -> bytes:
    """A self-signed test key as PKCS#12 bytes (RSA 3072, SHA-256), encrypted with ``password`` if given: its
    certificate names ``name`` (CN and O) and carries ``TEST_MARK`` (OU), so that every signature made with it
    says 测试证书，不具效力."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                         x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _TEST_UNIT),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256()))
    protection = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return pkcs12.serialize_key_and_certificates(name.encode("utf-8"), key, certificate, None, protection)


def is_test_certificate(certificate: x509.Certificate) -> bool:
    """Whether ``certificate`` is a test key's (``keygen``): its subject carries ``TEST_MARK``."""
    units = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return any(TEST_MARK in str(unit.value) for unit in units)


def certificates(data: bytes, password: bytes | None = None, name: str = "证书") -> list[x509.Certificate]:
    """The certificates in ``data``: PEM (one or more), DER, or a PKCS#12 file (its own and its chain) — what
    ``verify`` may be told to trust."""
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificates(data)
        if data[:1] == b"\x30":
            try:
                return [x509.load_der_x509_certificate(data)]
            except ValueError:
                pass
        loaded = pkcs12.load_pkcs12(data, password)
    except ValueError:
        raise SigningError(f"{name}：不是证书（PEM、DER）或 PKCS#12 文件，或其密码不对") from None
    found = ([loaded.cert.certificate] if loaded.cert else []) + [c.certificate for c in loaded.additional_certs]
    if not found:
        raise SigningError(f"{name}：PKCS#12 文件中没有证书")
    return found


def certificate_pem(p12: bytes, password: bytes | None = None) -> bytes:
    """The certificate of a PKCS#12 key as PEM: what the office gives those who verify its documents."""
    return certificates(p12, password)[0].public_bytes(serialization.Encoding.PEM)


def fingerprint(certificate: x509.Certificate) -> str:
    """The certificate's SHA-256 fingerprint (hex): which key, exactly."""
    return certificate.fingerprint(hashes.SHA256()).hex()


def describe(certificate: x509.Certificate) -> str:
    """Who a certificate names: its organisation and common name (``天津市滨海新区人民政府``)."""
    names = [str(a.value) for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME)
             for a in certificate.subject.get_attributes_for_oid(oid)]
    unique = list(dict.fromkeys(names))
    return "，".join(unique) or certificate.subject.rfc4514_string()


# --- where the seal goes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """A rectangle on a page, in PDF points from the page's lower left corner; ``page`` counts from 0."""

    page: int
    x1: float
    y1: float
    x2: float
    y2: float


_DATE_LINE = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$")


def seal_box(pdf: bytes) -> Box:
    """The seal's place on the last page: a circle of ``SEAL_PT`` over the signatory and the date (GB/T 9704
    7.3.5.1: 署名 and 成文日期 a little below the seal's centre). The date is the last line on the page that is only
    a date, right of the middle (the 版记's ``…印发`` is not one); the signatory the line just above it. A page
    without one gets the seal at its lower right."""
    import pdfplumber

    try:
        with pdfplumber.open(io.BytesIO(pdf)) as document:
            page = document.pages[-1]
            index, width, height = len(document.pages) - 1, float(page.width), float(page.height)
            lines = page.extract_text_lines(return_chars=False)
    except Exception as exc:  # pdfminer raises many kinds on a broken file
        raise UnusablePdf(f"无法读取 PDF（{type(exc).__name__}）") from None
    dates = [line for line in lines if _DATE_LINE.match(re.sub(r"\s+", "", line["text"]))
             and (line["x0"] + line["x1"]) / 2 > width * 0.4]
    if not dates:
        margin = 72.0
        return Box(index, width - margin - SEAL_PT, margin, width - margin, margin + SEAL_PT)
    date = dates[-1]
    above = [line for line in lines if line["bottom"] <= date["top"] + 1 and line["x1"] > date["x0"]
             and line["x0"] < date["x1"]]
    top = max(above, key=lambda line: line["bottom"]) if above else date
    if date["top"] - top["bottom"] > 2 * (date["bottom"] - date["top"]):  # no line close above: the date alone
        top = date
    left, right = min(top["x0"], date["x0"]), max(top["x1"], date["x1"])
    centre_x = (left + right) / 2
    centre_y = height - (top["top"] + date["bottom"]) / 2 + SEAL_PT * 0.08  # the text a little below the centre
    half = SEAL_PT / 2
    return Box(index, centre_x - half, centre_y - half, centre_x + half, centre_y + half)


# --- signing -------------------------------------------------------------------------------------------------


class Signer:
    """The office's key, loaded once from its PKCS#12 bytes (``password`` None for none): ``sign`` signs one PDF
    at a time, so a batch loads the key once and signs each document."""

    def __init__(self, p12: bytes, password: bytes | None = None, *, name: str = "密钥文件") -> None:
        try:
            loaded = pkcs12.load_pkcs12(p12, password)
        except (ValueError, TypeError):
            raise SigningError(f"{name}：无法打开密钥：不是 PKCS#12 文件，或密码不对") from None
        if loaded.key is None or loaded.cert is None:
            raise SigningError(f"{name}：PKCS#12 文件中没有私钥或证书")
        self.certificate = loaded.cert.certificate
        now = dt.datetime.now(dt.UTC)
        if not self.certificate.not_valid_before_utc <= now <= self.certificate.not_valid_after_utc:
            raise SigningError(f"{name}：证书不在有效期内（{self.certificate.not_valid_before_utc:%Y-%m-%d} 至 "
                               f"{self.certificate.not_valid_after_utc:%Y-%m-%d}）")
        self.name = describe(self.certificate)
        self.test_key = is_test_certificate(self.certificate)
        self.fingerprint = fingerprint(self.certificate)
        from asn1crypto import keys as asn1_keys
        from pyhanko_certvalidator import registry

        store: Any = registry.SimpleCertificateStore  # untyped

        chain = [self.certificate, *(c.certificate for c in loaded.additional_certs)]
        self._signer = _signer_class()(
            signing_cert=_asn1(self.certificate),
            signing_key=asn1_keys.PrivateKeyInfo.load(loaded.key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
            cert_registry=store.from_certs([_asn1(c) for c in chain]))
        self._signer.private_key = loaded.key
        # room for the CMS signature: the certificates and a signature of the key's size, with a margin; given,
        # pyHanko need not sign once more just to measure
        self._reserved = 8192 + 2 * sum(len(c.public_bytes(serialization.Encoding.DER)) for c in chain)

    def sign(self, pdf: bytes, *, reason: str = "", location: str = "", box: Box | None = None,
             test_key: bool | None = None) -> bytes:
        """``pdf`` signed (PAdES B-B) with the seal appearance over ``box`` (by default ``seal_box(pdf)``): the new
        file's bytes. ``reason`` is the signature's reason (``签发``); a test key's adds ``测试证书，不具效力``
        (``test_key`` True says so of any key; a test key always says it)."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.pdf_utils.misc import PdfError
        from pyhanko.sign import fields, signers

        testing = self.test_key or bool(test_key)
        reason = reason.strip() or "发文机关签发"
        if testing and TEST_MARK not in reason:
            reason = f"{reason}（{TEST_MARK}）"
        place = box or seal_box(pdf)
        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
            name = _field_name(writer)
            metadata = signers.PdfSignatureMetadata(
                field_name=name, reason=reason, location=location or None, name=self.name, md_algorithm="sha256",
                subfilter=fields.SigSeedSubFilter.PADES)
            spec = fields.SigFieldSpec(sig_field_name=name, on_page=place.page,
                                       box=(round(place.x1), round(place.y1), round(place.x2), round(place.y2)))
            signer = signers.PdfSigner(metadata, signer=self._signer, new_field_spec=spec,
                                       stamp_style=_seal_style(self.name, testing))
            out = signer.sign_pdf(writer, bytes_reserved=self._reserved)
        except (PdfError, ValueError, KeyError, IndexError) as exc:
            raise SigningError(f"无法签名：{exc}") from None
        return bytes(out.getvalue())


def _asn1(certificate: x509.Certificate) -> Any:
    """A certificate as pyHanko takes it (asn1crypto's)."""
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


@cache
def _signer_class() -> Any:
    """pyHanko's ``SimpleSigner`` keeping the key it loaded once: its own loads it again for every signature
    (a quarter of a second for an RSA key, which is checked anew each time)."""
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from pyhanko.sign.signers import SimpleSigner

    class KeptKeySigner(SimpleSigner):
        private_key: Any = None

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)["algorithm"].native
            algorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}.get(
                digest_algorithm)
            key = self.private_key
            pkcs1 = mechanism == "rsassa_pkcs1v15" or mechanism.endswith("_rsa")  # not PSS: pyHanko's own
            if algorithm is not None and isinstance(key, rsa.RSAPrivateKey) and pkcs1:
                return bytes(key.sign(data, padding.PKCS1v15(), algorithm))
            if algorithm is not None and isinstance(key, ec.EllipticCurvePrivateKey) and "ecdsa" in mechanism:
                return bytes(key.sign(data, ec.ECDSA(algorithm)))
            return bytes(super().sign_raw(data, digest_algorithm))

    return KeptKeySigner


def sign(pdf: bytes, key: bytes, password: bytes | None = None, *, reason: str = "", location: str = "",
         box: Box | None = None, test_key: bool | None = None) -> bytes:
    """``pdf`` signed with the PKCS#12 ``key`` (see ``Signer``; many documents: make one ``Signer``)."""
    return Signer(key, password).sign(pdf, reason=reason, location=location, box=box, test_key=test_key)


def _field_name(writer: Any) -> str:
    from pyhanko.sign.fields import enumerate_sig_fields

    taken = {name for name, _, _ in enumerate_sig_fields(writer.prev)}
    return next(f"{FIELD}{n or ''}" for n in range(len(taken) + 1) if f"{FIELD}{n or ''}" not in taken)


# --- the seal: the signature's appearance ---------------------------------------------------------------------


@cache
def seal_font() -> str | None:
    """An OpenType font with Chinese characters for the seal's words (a single font file, not a collection):
    FandolHei/FandolSong/FandolFang (``make system`` puts them into ``.fonts``, or ``$SHENBAO_FONTS_DIR``, or
    TeX Live's), AR PL KaitiM GB (fonts-arphic-gkai00mp), else what fontconfig finds; None without one (the
    seal then has no words)."""
    folders = [Path(os.environ["SHENBAO_FONTS_DIR"])] if os.environ.get("SHENBAO_FONTS_DIR") else []
    folders += [Path(__file__).resolve().parent.parent / ".fonts" / "fandol",
                Path("/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol")]
    names = ("FandolHei-Bold.otf", "FandolSong-Bold.otf", "FandolHei-Regular.otf", "FandolFang-Regular.otf")
    for folder in folders:
        for name in names:
            if (folder / name).is_file():
                return str(folder / name)
    known = Path("/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf")
    if known.is_file():
        return str(known)
    fc_list = shutil.which("fc-list")
    if fc_list:
        listed = subprocess.run([fc_list, ":lang=zh-cn", "file"], capture_output=True, text=True, timeout=20,
                                check=False).stdout
        for line in sorted(listed.splitlines()):
            path = line.split(":")[0].strip()
            if path.lower().endswith((".otf", ".ttf")):
                return path
    return None


@cache
def _seal_classes() -> tuple[Any, Any]:
    """The seal's style and stamp (pyHanko's), made on first use: pyHanko is imported only when signing."""
    from pyhanko.pdf_utils import content, generic
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
    from pyhanko.stamp.base import BaseStamp, BaseStampStyle

    @dataclass(frozen=True)
    class SealStyle(BaseStampStyle):
        """A red double ring, a star, the signer's name round the rim, ``电子签名`` (or ``测试证书 / 不具效力``)
        under the star; multiplied over the page, so that the signatory and the date show through."""

        signer: str = ""
        testing: bool = False
        border_width: int = 0

        def create_stamp(self, writer: Any, box: Any, text_params: dict[str, Any]) -> Any:
            return Seal(writer, self, box=box)

    class Seal(BaseStamp):
        def _render_inner_content(self) -> list[bytes]:
            style, box = self.style, self.box
            size = min(box.width, box.height)
            r = size / 2 - 1.5
            cx, cy = box.width / 2, box.height / 2
            pdf: Any = generic  # its object constructors are untyped
            self.set_resource(category=content.ResourceType.EXT_G_STATE, name=pdf.pdf_name("/SealGS"),
                              value=pdf.DictionaryObject({pdf.pdf_name("/CA"): pdf.FloatObject(0.9),
                                                          pdf.pdf_name("/ca"): pdf.FloatObject(0.9),
                                                          pdf.pdf_name("/BM"): pdf.pdf_name("/Multiply")}))
            red = b"%.3f %.3f %.3f" % SEAL_RED
            ops = [b"q /SealGS gs", red + b" RG", red + b" rg", b"%.2f w" % (size * 0.028), _circle(cx, cy, r),
                   b"S", b"%.2f w" % (size * 0.006), _circle(cx, cy, r - size * 0.045), b"S",
                   _star(cx, cy + r * 0.02, r * 0.26), b"f"]
            words = [TEST_MARK[:4], TEST_MARK[5:]] if style.testing else ["电子签名"]
            font = _font_subset("".join(sorted(set(style.signer.strip() + "".join(words)))))
            if font:
                engine = GlyphAccumulator(self._ensure_writer, io.BytesIO(font), font_size=10)
                self.set_resource(category=content.ResourceType.FONT, name=generic.pdf_name("/SealFont"),
                                  value=engine.as_resource())
                ops += _rim(engine, style.signer, cx, cy, r * 0.63, r * 0.25)
                line = r * (0.13 if style.testing else 0.15)
                for n, text in enumerate(words):
                    ops += _centred(engine, text, cx, cy - r * 0.45 - n * line * 1.25, line)
            ops.append(b"Q")
            return ops

    return SealStyle, Seal


@cache
def _font_subset(characters: str) -> bytes | None:
    """The seal's font (``seal_font``) cut down to ``characters``, once: a Chinese font is read and subset in a
    fifth of a second, which every signature would pay again."""
    from fontTools import subset

    path = seal_font()
    if path is None:
        return None
    options = subset.Options()
    options.name_IDs, options.notdef_outline, options.layout_features = ["*"], True, ["*"]
    font = subset.load_font(path, options)
    cutter = subset.Subsetter(options)
    cutter.populate(text=characters)
    cutter.subset(font)
    buffer = io.BytesIO()
    subset.save_font(font, buffer, options)
    return buffer.getvalue()


def _seal_style(signer: str, testing: bool) -> Any:
    style, _ = _seal_classes()
    return style(signer=signer, testing=testing)


def _circle(cx: float, cy: float, r: float) -> bytes:
    k = r * 0.5523  # four Bézier curves
    return (b"%.2f %.2f m " % (cx + r, cy)
            + b"%.2f %.2f %.2f %.2f %.2f %.2f c " % (cx + r, cy + k, cx + k, cy + r, cx, cy + r)
            + b"%.2f %.2f %.2f %.2f %.2f %.2f c " % (cx - k, cy + r, cx - r, cy + k, cx - r, cy)
            + b"%.2f %.2f %.2f %.2f %.2f %.2f c " % (cx - r, cy - k, cx - k, cy - r, cx, cy - r)
            + b"%.2f %.2f %.2f %.2f %.2f %.2f c h" % (cx + k, cy - r, cx + r, cy - k, cx + r, cy))


def _star(cx: float, cy: float, r: float) -> bytes:
    points = []
    for i in range(10):
        angle = math.pi / 2 + i * math.pi / 5
        reach = r if i % 2 == 0 else r * 0.382
        points.append((cx + reach * math.cos(angle), cy + reach * math.sin(angle)))
    return b" ".join(b"%.2f %.2f %s" % (x, y, b"m" if i == 0 else b"l") for i, (x, y) in enumerate(points)) + b" h"


def _glyph(engine: Any, text: str, size: float, matrix: tuple[float, ...]) -> bytes:
    engine.font_size = size
    shaped = engine.shape(text).graphics_ops
    return b"BT /SealFont %.2f Tf %.4f %.4f %.4f %.4f %.2f %.2f Tm %s ET" % (size, *matrix, shaped)


def _rim(engine: Any, text: str, cx: float, cy: float, radius: float, size: float) -> list[bytes]:
    """``text`` along the upper arc, left to right, each character upright with its top to the rim, spread over
    120° to 240° as on an office's seal (a long name in smaller characters)."""
    text = text.strip()[:30]
    if not text:
        return []
    span = math.radians(min(max(len(text) * 22.0, 120.0), 240.0))  # a seal's name fills its upper rim evenly
    step = span / max(len(text) - 1, 1)  # the angle from one character to the next
    size = min(size, step * radius / 1.05)
    start = math.pi / 2 + step * (len(text) - 1) / 2
    ops = []
    for n, character in enumerate(text):
        angle = start - step * n
        turn = angle - math.pi / 2
        advance = engine.shape(character).x_advance * size
        x = cx + radius * math.cos(angle) - math.cos(turn) * advance / 2
        y = cy + radius * math.sin(angle) - math.sin(turn) * advance / 2
        ops.append(_glyph(engine, character, size, (math.cos(turn), math.sin(turn), -math.sin(turn),
                                                    math.cos(turn), x, y)))
    return ops


def _centred(engine: Any, text: str, cx: float, y: float, size: float) -> list[bytes]:
    width = engine.shape(text).x_advance * size
    return [_glyph(engine, text, size, (1, 0, 0, 1, cx - width / 2, y))]


# --- verifying -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Why a document is not genuine: ``kind`` (``unsigned``, ``altered``, ``added``, ``untrusted``, and from the
    code and the ledger ``copied``, ``unknown``, ``mismatch``, ``revoked``) and the message in words."""

    kind: str
    message: str


@dataclass(frozen=True)
class Verdict:
    """The check of a document. From the signature: ``signed``, ``intact`` (the signed bytes unchanged, the
    signature valid), ``whole`` (it covers the whole file: nothing added after signing), ``trusted`` (the signer's
    certificate is trusted), ``signer`` and ``key`` (the certificate's SHA-256 fingerprint), ``signed_at``,
    ``reason``, ``test_key``. From the verification code and the ledger: ``code`` (as printed), ``record`` (the
    ledger's, when one was asked). ``problems`` lists every reason it is not genuine; ``genuine`` is none."""

    signed: bool = False
    intact: bool = False
    whole: bool = False
    trusted: bool = False
    signer: str = ""
    key: str = ""
    signed_at: dt.datetime | None = None
    reason: str = ""
    test_key: bool = False
    code: str | None = None
    record: Any = None
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def genuine(self) -> bool:
        return not self.problems

    def kinds(self) -> list[str]:
        return [p.kind for p in self.problems]

    def adding(self, *problems: Problem, **changes: Any) -> Verdict:
        """This verdict with more ``problems`` (and other fields changed)."""
        return replace(self, problems=(*self.problems, *problems), **changes)


def verify(pdf: bytes, trust: Sequence[x509.Certificate] = ()) -> Verdict:
    """The signatures of ``pdf`` checked (see the module's text) against the certificates in ``trust``;
    ``UnusablePdf`` for a file that cannot be read as a PDF at all."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    if not pdf.lstrip()[:5] == b"%PDF-":
        raise UnusablePdf("不是 PDF 文件")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_regular_signatures)
    except Exception as exc:  # a file anyone may upload: whatever the reader raises, the file is unusable
        raise UnusablePdf(f"无法读取 PDF（{type(exc).__name__}）") from None
    if not signatures:
        return Verdict(problems=(Problem("unsigned", "文件没有数字签名：无从确认由谁签发、是否改动"),))
    verdict = Verdict(signed=True, intact=True, whole=True, trusted=True)
    for number, signature in enumerate(signatures, start=1):
        verdict = _checked(verdict, signature, trust, last=number == len(signatures), several=len(signatures) > 1)
    return verdict


def _checked(verdict: Verdict, signature: Any, trust: Sequence[x509.Certificate], *, last: bool,
             several: bool) -> Verdict:
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    roots = [_asn1(c) for c in trust]
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    usage = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)
    try:
        status = validate_pdf_signature(signature, signer_validation_context=context, key_usage_settings=usage)
    except Exception as exc:  # a damaged signature object: not intact
        which = "其中一个签名" if several else "签名"
        return verdict.adding(Problem("altered", f"{which}已损坏，无法校验（{type(exc).__name__}）"), intact=False)
    certificate = x509.load_der_x509_certificate(status.signing_cert.dump())
    signer, key = describe(certificate), fingerprint(certificate)
    sig = signature.sig_object
    changes: dict[str, Any] = {"signer": signer, "key": key, "test_key": is_test_certificate(certificate),
                               "reason": str(sig.get("/Reason", "")), "signed_at": signature.self_reported_timestamp}
    problems: list[Problem] = []
    broken = not (status.intact and status.valid)
    if broken:
        problems.append(Problem("altered", "签名之后文件内容被改动：签名所覆盖的内容与签名不符"))
        changes["intact"] = False
    elif last and status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        problems.append(Problem("added", "签名之后文件又被追加了修改（如增加页面、批注或另存的内容），"
                                         "追加的部分不在签名之内"))
        changes["whole"] = False
    if not status.trusted:
        changes["trusted"] = False
        if not broken:  # a broken signature says nothing of its signer
            problems.append(Problem("untrusted", f"签名人的证书不在信任之列：{signer}（SHA-256 指纹 {key[:16]}…）；"
                                                 "请用 --trust 指定发文机关的证书"))
    if not verdict.signer or last:
        return verdict.adding(*problems, **changes)
    return verdict.adding(*problems, **{k: v for k, v in changes.items() if k in ("intact", "whole", "trusted")})


