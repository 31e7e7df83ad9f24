"""Files people upload: limited in size (the server's ``max_upload``) and in type — told by their first bytes, not
their names — so that nothing else reaches the readers."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

SUBMISSIONS = {"pdf": "PDF", "docx": "Word（.docx）"}  # what a submitted form may be
DRAFTS = {**SUBMISSIONS, "xlsx": "Excel", "xls": "Excel（.xls）", "ods": "ODS 表格", "json": "JSON",
          "csv": "CSV"}  # what a form may be continued from
TEMPLATES = {"docx": "Word（.docx）"}  # an office's own template for the notices it issues


async def received(request: Request, upload: UploadFile, allowed: dict[str, str]) -> tuple[str, bytes]:
    """The name and bytes of an upload of one of the ``allowed`` kinds (413 too large, 415 another kind)."""
    limit = int(request.app.state.settings.max_upload)
    content = await upload.read(limit + 1)
    name = (upload.filename or "上传的文件").replace("\\", "/").rsplit("/", 1)[-1][:200] or "上传的文件"
    if len(content) > limit:
        raise HTTPException(413, f"{name}：文件超过 {limit // 2**20} MB 的上限")
    if not content:
        raise HTTPException(400, f"{name}：文件为空")
    kind = kind_of(content, name)
    if kind not in allowed:
        raise HTTPException(415, f"{name}：只接受{'、'.join(dict.fromkeys(allowed.values()))}文件")
    return name, content


async def chosen_template(request: Request, form: FormData) -> tuple[str, bytes] | None:
    """The 本机关模板 (a .docx) uploaded as ``template`` beside a form's other fields, or None when no file was
    chosen (an empty file field arrives as a file with no name, or under older Starlette as "")."""
    template = form.get("template")
    if isinstance(template, UploadFile) and template.filename:
        return await received(request, template, TEMPLATES)
    return None


def kind_of(content: bytes, name: str) -> str:
    """``pdf``, ``docx``, ``xlsx``, ``ods``, ``xls``, ``json``, ``csv`` or ``""``, by the content."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"PK\x03\x04"):
        head = content[:4096]
        if b"word/" in head or suffix == "docx":
            return "docx"
        if b"xl/" in head or suffix == "xlsx":
            return "xlsx"
        if b"opendocument.spreadsheet" in head:
            return "ods"
        return suffix if suffix in ("docx", "xlsx", "ods") else ""
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if suffix in ("json", "csv"):  # text: its reader tells the encoding and what is wrong with it
        return suffix
    return ""
