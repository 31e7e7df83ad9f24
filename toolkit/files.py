"""Files on disk, for the front ends: reading a user's file with a clear reason when it can't be read, and
writing every output atomically (a temporary file beside it, then a rename), so that nothing already written is
lost or left half-written. The library's workflows never touch paths; the CLI and the sinks of a batch do, here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import UnusableInput

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


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


def parse_json(data: bytes, name: str = "<data>") -> dict[str, Any]:
    """An application or office file as parsed JSON, numbers as exact decimals; ``UnusableInput`` with the reason."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnusableInput(name, "不是 UTF-8 编码的文本 (not UTF-8 text)") from None
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
    return parse_json(read_input(path), str(path))


def load_data(path: str | Path) -> dict[str, Any]:
    """A JSON file, or a TOML one (an office profile, a decision's facts) read as the same JSON data: dates as
    ISO text, numbers as exact decimals."""
    if Path(path).suffix.lower() != ".toml":
        return load_application(path)
    try:
        text = read_input(path).decode("utf-8-sig")
        return _as_json(tomllib.loads(text, parse_float=Decimal))
    except UnicodeDecodeError:
        raise UnusableInput(str(path), "不是 UTF-8 编码的文本 (not UTF-8 text)") from None
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


def write_with(out: str | Path, save: Any) -> Path:
    """Let ``save(path)`` write a temporary file beside ``out``, then rename it to ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(handle)
    try:
        save(temporary)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return out


def json_text(data: Any) -> str:
    """``data`` as indented JSON (exact decimals written as they are)."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=_json_number) + "\n"


def write_json(out: str | Path, data: Any) -> Path:
    """Write ``data`` as JSON atomically."""
    return write_bytes(out, json_text(data).encode("utf-8"))


def _json_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON")
