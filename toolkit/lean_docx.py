"""A .docx for LibreOffice without the style definitions nothing uses: half the time LibreOffice takes to convert
a rendered document is importing them.

The templates carry python-docx's default ``word/styles.xml`` — 164 styles, 350 KB — of which a document uses a
dozen; LibreOffice builds each one on import (a one-page notice: 0.09 s of CPU to load with them, 0.04 s
without; the PDF export is the same). ``lean_copy`` writes a copy whose ``styles.xml`` keeps only what renders:
the styles a part of the document names (``w:pStyle``, ``w:rStyle``, ``w:tblStyle``, the numbering's style
links, the settings' default table style …), the defaults (``w:default="1"``) and, from those, every style they
are based on, continue with or are linked to; ``w:docDefaults`` and the latent styles stay. The rendering is the
same (the tests compare the pages of PDFs made from both, pixel for pixel); whatever is not plainly such a
document — a small ``styles.xml``, another namespace prefix, fields that find text or build tables of contents by
style name (STYLEREF, TOC), anything that does not parse — is converted as it is.
"""

from __future__ import annotations

import re
import zipfile
from functools import lru_cache
from pathlib import Path

LEAN_ABOVE = 32_768  # bytes of word/styles.xml; below this, there is nothing worth taking away
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_DECLARED = f'xmlns:w="{_W}"'.encode()
_REFERENCE = re.compile(rb'<w:(?:pStyle|rStyle|tblStyle|numStyleLink|styleLink|clickAndTypeStyle|defaultTableStyle)'
                        rb'\b[^>]*?\bw:val\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
# fields that pick paragraphs or build entries by style name
_BY_NAME = re.compile(rb'(?:<w:instrText\b[^>]*>|\bw:instr=")[^<"]*(?:STYLEREF|TOC)')
_STYLE_PARTS = ("word/styles.xml", "word/stylesWithEffects.xml")
_CHAINS = ("basedOn", "next", "link")


def lean_copy(source: Path, target: Path) -> bool:
    """Write the lean copy of the .docx ``source`` to ``target`` and say True; False (nothing written) when
    ``source`` is to be converted as it is."""
    try:
        with zipfile.ZipFile(source) as archive:
            items = archive.infolist()
            styles_info = next((i for i in items if i.filename == "word/styles.xml"), None)
            if styles_info is None or styles_info.file_size < LEAN_ABOVE:
                return False
            parts = {item.filename: archive.read(item) for item in items}
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError):
        return False  # LibreOffice says what is wrong with it
    used: set[bytes] = set()
    for name, data in parts.items():
        if name in _STYLE_PARTS or not name.endswith(".xml") or name.startswith("word/glossary/"):
            continue
        if _W.encode() in data and _DECLARED not in data:
            return False  # the main namespace under another prefix
        if _BY_NAME.search(data):
            return False
        used.update(double or single for double, single in _REFERENCE.findall(data))
    lean = _lean_styles(parts["word/styles.xml"], frozenset(used))
    if lean is None:
        return False
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as copy:  # read once by LibreOffice: no compression
        for item in items:
            copy.writestr(item.filename, lean if item.filename == "word/styles.xml" else parts[item.filename])
    return True


@lru_cache(maxsize=32)  # a batch renders one template: the same styles, mostly the same references
def _lean_styles(styles: bytes, used: frozenset[bytes]) -> bytes | None:
    """``styles.xml`` without the styles that nothing in ``used`` leads to; None if it cannot or need not be."""
    from lxml import etree  # here: LibreOffice starts while it is imported

    try:
        root = etree.fromstring(styles, parser=etree.XMLParser(resolve_entities=False, huge_tree=False))
    except etree.XMLSyntaxError:
        return None
    if root.tag != f"{{{_W}}}styles":
        return None
    by_id = {}
    for style in root.iterchildren(f"{{{_W}}}style"):
        by_id[style.get(f"{{{_W}}}styleId")] = style
    wanted = [name.decode("utf-8", "replace") for name in used]
    wanted += [i for i, s in by_id.items() if s.get(f"{{{_W}}}default") in ("1", "true", "on")]
    keep: set[str | None] = set()
    while wanted:
        name = wanted.pop()
        if name in keep or name not in by_id:
            continue
        keep.add(name)
        for chain in _CHAINS:
            link = by_id[name].find(f"{{{_W}}}{chain}")
            if link is not None:
                wanted.append(link.get(f"{{{_W}}}val"))
    if len(keep) == len(by_id):
        return None
    for name, style in by_id.items():
        if name not in keep:
            root.remove(style)
    lean: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return lean
