"""Every date the schema accepts is a date the rules see: no ISO spelling slips past the rules (``2017-W40-1`` is
2017-10-02, which Python's ``date.fromisoformat`` reads but the rules would not)."""

from __future__ import annotations

import pytest
from conftest import changed, form_ids, sample

import toolkit
from toolkit import fields

EXOTIC = {"2017-W40-1": None, "2017W401": None, "2017-275": None, "2017275": None, "20171002": "2017-10-02",
          "2017-10-02T00:00": None, "2017-10-2": "2017-10-02", "+2017-10-02": None}


def _date_fields(form_id: str) -> list[str]:
    return [path for path, f in fields.leaves(toolkit.form(form_id)).items() if f.node.get("format") == "date"
            and fields.get(sample(form_id), path) is not None]


CASES = [(f, p) for f in form_ids() for p in _date_fields(f)]


@pytest.mark.parametrize(("form_id", "path"), CASES, ids=[f"{f}:{p}" for f, p in CASES])
def test_an_exotic_spelling_is_refused_or_read_as_the_date_it_names(form_id: str, path: str) -> None:
    pointer = "/" + path.replace(".", "/")
    for written, meant in EXOTIC.items():
        report = toolkit.check(form_id, changed(sample(form_id), {path: written}))
        if meant is None:
            assert any(f.path == pointer and f.rule == "format.date" for f in report.errors), (written, report)
        else:
            same = toolkit.check(form_id, changed(sample(form_id), {path: meant}))
            assert [(f.rule, f.message) for f in report.findings] == [(f.rule, f.message) for f in same.findings]
            assert any(n.path == pointer and n.rule == "input.read" for n in report.notes)


def test_the_week_date_bypass_is_closed() -> None:
    """二(一)3(1): registered 2017-10-02, applying 2018-09-20 — under two years, whichever way it is written."""
    form_id = "tj-productivity-center-application"
    week = toolkit.check(form_id, changed(sample(form_id), {"center.registration_date": "2017-W40-1",
                                                             "application_date": "2018-09-20"}))
    assert not week.ok and any(f.rule == "format.date" for f in week.errors)
    plain = toolkit.check(form_id, changed(sample(form_id), {"center.registration_date": "2017-10-02",
                                                              "application_date": "2018-09-20"}))
    assert any(f.rule == "operating-two-years" for f in plain.errors)
