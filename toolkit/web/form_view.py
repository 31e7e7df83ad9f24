"""A form as the page draws it: its schema walked into a tree of sections and fields, each with its Chinese title,
the help beside it (the schema's description), the clause it comes from and the input it takes.

``view(form)`` is what ``static/form.js`` mounts: JSON that needs no schema knowledge to draw — the kind of each
field (``text``, ``long-text``, ``date``, ``number``, ``integer``, ``money``, ``enum``, ``boolean``, ``choices``,
``texts``, ``object``, ``list``), its options, bounds and unit, in the schema's order (the official outline).
``part="applicant"`` leaves out the office's sections (``x-office-sections``: 审查意见, 专家评分 …); ``part="office"``
gives only them, for the staff's pages. Inside a list's item, ``-`` stands for the item's number in a pointer
(``/ip/-/title``); the page writes the real one (``/ip/0/title``).

>>> from toolkit import catalogue
>>> tree = view(catalogue.form("tj-high-tech-enterprise-application"))
>>> [s["key"] for s in tree["children"]][:3]
['enterprise', 'contact', 'application_date']
"""

from __future__ import annotations

import re
from typing import Any, Literal

from ..catalogue import Form
from ..fields import pointer_of, resolve

Part = Literal["applicant", "office"]
UNIT = re.compile(r"（([^（）]{1,12})）$")  # 注册资本（万元）, 职工总数（人）, 申请财政补助（分年度，万元）
BOUNDS = {"minimum": "min", "maximum": "max", "exclusiveMinimum": "exclusive_min",
          "exclusiveMaximum": "exclusive_max", "minItems": "min_items", "maxItems": "max_items",
          "maxLength": "max_length", "minLength": "min_length"}


def view(form: Form, part: Part = "applicant") -> dict[str, Any]:
    """The form as a tree for the page: the form's facts and its sections (``children``), part ``part``."""
    if part not in ("applicant", "office"):
        raise ValueError(f"part must be 'applicant' or 'office', not {part!r}")
    root = resolve(form.schema, form.schema)
    office = set(form.office_sections)
    walker = _Walker(form.schema, office, part)
    tree: dict[str, Any] = {"form": form.id, "title": form.title, "category": form.kind, "role": form.role,
                            "policy": form.policy, "clause": form.clause, "help": str(root.get("description", "")),
                            "part": part, "children": walker.children(root, (), form.clause, False)}
    if part == "applicant":  # named when a loaded draft holds them: "filled in by the office, left out"
        tree["left_out"] = [{"key": p.split("/")[-1], "pointer": p, "title": _title(form.schema, p)}
                            for p in form.office_sections]
    return tree


def _title(schema: dict[str, Any], pointer: str) -> str:
    """The title of the schema node of a pointer to a value (``/district_review``)."""
    node = resolve(schema, schema)
    for part in pointer.split("/")[1:]:
        node = resolve(node.get("properties", {}).get(part, {}), schema)
    return str(node.get("title", pointer.split("/")[-1]))


class _Walker:
    """Walks one schema into nodes, keeping or leaving out the office's sections."""

    def __init__(self, schema: dict[str, Any], office: set[str], part: Part) -> None:
        self.schema = schema
        self.office = office
        self.part = part

    def children(self, node: dict[str, Any], at: tuple[str, ...], clause: str, inside: bool
                 ) -> list[dict[str, Any]]:
        """The nodes of an object's properties, in order, that belong to this part (``inside``: within an office
        section, where all of them do)."""
        required = set(node.get("required", ()))
        found: list[dict[str, Any]] = []
        for key, child in node.get("properties", {}).items():
            where = (*at, key)
            office = inside or pointer_of(where) in self.office
            inner = self.node(child, where, key, clause, key in required, office)
            if self.part == "applicant" and office:
                continue
            if self.part == "office" and not office and not inner.get("children"):
                continue  # not the office's, and holds none of its sections deeper down
            found.append(inner)
        return found

    def node(self, raw: dict[str, Any], at: tuple[str, ...], key: str, clause: str, required: bool,
             inside: bool = False) -> dict[str, Any]:
        """One field or section: ``at`` its place (``-`` for a list's item), ``clause`` the one it inherits,
        ``required`` whether its parent requires it, ``inside`` whether it is within an office section."""
        node = resolve(raw, self.schema)
        clause = str(node.get("x-clause", clause))
        title = str(node.get("title", key))
        kind = _kind(node, self.schema)
        answer: dict[str, Any] = {"key": key, "pointer": pointer_of(at), "title": title,
                                  "help": str(node.get("description", "")), "clause": clause, "required": required,
                                  "kind": kind}
        answer.update({name: node[word] for word, name in BOUNDS.items() if word in node})
        for word in ("format", "pattern", "const"):
            if word in node:
                answer[word] = node[word]
        if node.get("uniqueItems"):
            answer["unique"] = True
        unit = _unit(title)
        if kind == "money":
            answer["unit"] = "万元"
        elif unit and kind in ("number", "integer", "texts", "list"):
            answer["unit"] = unit
        if kind == "enum":
            answer["options"] = [str(o) for o in node.get("enum", [node.get("const")])]
        elif kind == "choices":
            answer["options"] = [str(o) for o in resolve(node["items"], self.schema).get("enum", ())]
        elif kind == "object":
            answer["children"] = self.children(node, at, clause, inside)
        elif kind in ("list", "texts"):
            items = resolve(node.get("items", {}), self.schema)
            item = self.node(items, (*at, "-"), "-", clause, False, inside)
            item["title"] = str(items.get("title", title))
            answer["item"] = item
        return answer


def _kind(node: dict[str, Any], schema: dict[str, Any]) -> str:
    """The input a schema node takes (see the module's docstring)."""
    kind = node.get("type")
    if kind == "object" or (kind is None and "properties" in node):
        return "object"
    if kind == "array":
        items = resolve(node.get("items", {}), schema)
        if items.get("enum") is not None:
            return "choices"
        return "texts" if items.get("type") == "string" else "list"
    if kind == "boolean":
        return "boolean"
    if kind == "integer":
        return "integer"
    if kind == "number":
        return "money" if str(node.get("title", "")).endswith("万元）") else "number"
    if "enum" in node:
        return "enum"
    if node.get("format") == "date":
        return "date"
    if node.get("x-long"):
        return "long-text"
    return "text"


def _unit(title: str) -> str:
    """The unit a title ends with: ``职工总数（人）`` → ``人``; ``申请财政补助（分年度，万元）`` → ``万元``."""
    found = UNIT.search(title)
    return found.group(1).split("，")[-1] if found else ""

