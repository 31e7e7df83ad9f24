"""Files on disk, for the front ends: reading a user's file with a clear reason when it can't be read, and
writing every output atomically (a temporary file beside it, then a rename), so that nothing already written is
lost or left half-written. The library's workflows never touch paths; the CLI and the sinks of a batch do, here.

A user's text (JSON, TOML, CSV) is read in the encoding it was saved in: UTF-8 with or without BOM, UTF-16 and
UTF-32 by their BOM (UTF-16 without one when the detector is sure), and GB18030 — what Excel and Notepad on
Chinese Windows save as "ANSI" is GBK, a subset of it. ``decoded_text`` says which encoding it used, so that a
front end can tell the user.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import os
import re
import tempfile
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import UnusableInput


def read_input(path: str | Path, head: int | None = None) -> bytes:
    """The bytes of a user's file (the first ``head`` of them); ``UnusableInput`` saying why it can't be read."""
    name = str(path)
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(head) if head else handle.read()
    except FileNotFoundError:
        raise UnusableInput(name, "文件不存在 (no such file)") from None
    except IsADirectoryError:
        raise UnusableInput(name, "这是一个目录，不是文件 (is a directory)") from None
    except OSError as exc:
        raise UnusableInput(name, f"无法读取 ({exc.strerror})") from None
    if not data.strip():
        raise UnusableInput(name, "文件为空 (empty file)")
    return data


UTF8 = "UTF-8"  # the encoding ``decoded_text`` names for UTF-8 text (with or without BOM): nothing to tell the user
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),  # before UTF-16's
         (codecs.BOM_UTF8, "utf-8-sig", UTF8), (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
         (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"))
_NAMES = {"gb18030": "GB18030", "big5": "Big5", "cp950": "Big5", "big5hkscs": "Big5-HKSCS"}
_BIG5 = frozenset({"big5", "cp950", "big5hkscs"})
_SURE = 32  # non-ASCII bytes the detector needs before it may overrule GB18030: shorter Chinese texts fool it
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")  # in no text a person typed (\t \n \v \f \r may be): a wrong guess
_NOT_TEXT = ("无法识别文本编码：不是 UTF-8、GB18030（GBK）或 UTF-16 编码的文本，也许不是文本文件；"
             "请另存为 UTF-8 编码 (not text in a known encoding)")


def decoded_text(data: bytes, name: str = "<data>") -> tuple[str, str]:
    """The text of a user's file and the encoding it was in: ``UTF-8`` (the BOM dropped), ``UTF-16`` or
    ``UTF-32`` by their BOM, ``UTF-16`` without BOM when charset-normalizer is sure, else ``GB18030`` when the
    bytes are that (GBK and GB2312 are subsets of it; a long Big5 text is told apart by the detector), else the
    detector's guess. ``UnusableInput`` naming ``name`` when the bytes are no text at all."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            return _decoded(data, codec, label, name)
    if b"\x00" in data:  # no UTF-8 or GB18030 text holds a NUL: UTF-16 without its BOM, or binary
        return _decoded(data, _utf16_codec(data), "UTF-16", name)
    try:
        return data.decode("utf-8"), UTF8
    except UnicodeDecodeError:
        pass
    guess = _detected(data)
    return _decoded(data, guess, _NAMES.get(guess, guess.upper().replace("_", "-")) if guess else "", name)


def _decoded(data: bytes, codec: str | None, label: str, name: str) -> tuple[str, str]:
    """``data`` decoded, unless that fails or gives control characters: then it was no text in this encoding."""
    try:
        text = data.decode(codec) if codec else None
    except (UnicodeDecodeError, LookupError):
        text = None
    if text is None or _CONTROL.search(text):
        raise UnusableInput(name, _NOT_TEXT)
    return text, label


def _utf16_codec(data: bytes) -> str | None:
    """``utf-16-le`` or ``-be`` when the detector finds that and the NULs agree (ASCII's high bytes), else None."""
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    odd = data[1::2].count(0) / data.count(0)
    side = "utf_16_le" if odd >= 0.9 else "utf_16_be" if odd <= 0.1 else None
    if best is None or best.encoding != side or len(data) % 2:
        return None
    return side.replace("_", "-")


def _detected(data: bytes) -> str | None:
    """GB18030 when the bytes are that, unless a long text is clearly Big5; else charset-normalizer's guess."""
    from charset_normalizer import from_bytes

    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        best = from_bytes(data).best()
        return best.encoding if best else None
    if sum(byte > 0x7F for byte in data) < _SURE:
        return "gb18030"
    found = {match.encoding for match in from_bytes(data)}
    return "gb18030" if "gb18030" in found or not found & _BIG5 else min(found & _BIG5)


def parse_json(data: bytes | str, name: str = "<data>") -> dict[str, Any]:
    """An application or office file (bytes in any encoding ``decoded_text`` reads, or its text) as parsed JSON,
    numbers as exact decimals; ``UnusableInput`` with the reason."""
    text = decoded_text(data, name)[0] if isinstance(data, bytes) else data
    if not text.strip():
        raise UnusableInput(name, "文件为空 (empty file)")
    try:
        parsed = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        where = f"第{exc.lineno}行第{exc.colno}列：" if isinstance(exc, json.JSONDecodeError) else ""
        raise UnusableInput(name, f"不是有效的 JSON，{where}{exc.args[0]} (not JSON)") from None
    if not isinstance(parsed, dict):
        raise UnusableInput(name, f"顶层应为 JSON 对象，现为{kind_of(parsed)} (not an object)")
    return parsed


def load_application(path: str | Path) -> dict[str, Any]:
    """The parsed JSON of the file at ``path`` (see ``parse_json``)."""
    return load_application_with_encoding(path)[0]


def load_application_with_encoding(path: str | Path) -> tuple[dict[str, Any], str]:
    """The parsed JSON of the file at ``path`` and the encoding its text was in (``UTF8`` or, to tell the user,
    ``GB18030``, ``UTF-16`` …; see ``decoded_text``)."""
    text, encoding = decoded_text(read_input(path), str(path))
    return parse_json(text, str(path)), encoding


def load_data(path: str | Path) -> dict[str, Any]:
    """A JSON file, or a TOML one (an office profile, a decision's facts) read as the same JSON data: dates as
    ISO text, numbers as exact decimals."""
    return load_data_with_encoding(path)[0]


def load_data_with_encoding(path: str | Path) -> tuple[dict[str, Any], str]:
    """``load_data`` and the encoding the file's text was in (see ``decoded_text``)."""
    if Path(path).suffix.lower() != ".toml":
        return load_application_with_encoding(path)
    text, encoding = decoded_text(read_input(path), str(path))
    try:
        return _as_json(tomllib.loads(text, parse_float=Decimal)), encoding
    except tomllib.TOMLDecodeError as exc:
        raise UnusableInput(str(path), f"不是有效的 TOML：{exc} (not TOML)") from None


def _as_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return value


def _no_constant(token: str) -> Any:
    raise ValueError(f"{token} 不是数值")


def kind_of(value: Any) -> str:
    """What a JSON value is, in Chinese, for messages (``对象``, ``列表``, ``文字`` …)."""
    return {dict: "对象", list: "列表", str: "文字", bool: "布尔值", type(None): "空值"}.get(type(value), "数值")


def write_bytes(out: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``out`` through a temporary file beside it and a rename: a crash never leaves half a file."""
    return write_with(out, lambda temporary: Path(temporary).write_bytes(data))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()  # what a plain open() would have given the file (mkstemp makes it 0600)


def write_with(out: str | Path, save: Any) -> Path:
    """Let ``save(path)`` write a temporary file beside ``out``, then rename it to ``out`` (with the usual
    permissions, as the umask says)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(handle)
    try:
        save(temporary)
        os.chmod(temporary, _MODE)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return out


def json_text(data: Any) -> str:
    """``data`` as indented JSON (exact decimals written as they are)."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=json_number) + "\n"


def write_json(out: str | Path, data: Any) -> Path:
    """Write ``data`` as JSON atomically."""
    return write_bytes(out, json_text(data).encode("utf-8"))


def json_number(value: Any) -> Any:
    """A decimal as JSON writes it (``json.dumps(..., default=json_number)``): a whole number as an int, else a float
    of its exact text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON")
