"""The ledger (台账) on SQLite and on a real PostgreSQL server (a throwaway cluster started here, never a mock):
intake records every file once with its findings, decisions are refused while something fails or is pending,
numbers are allocated in order and never shared, notices are issued and recorded once, the event log cannot be
changed, and the migrations build exactly the tables of the models — and keep every row of the previous version."""

from __future__ import annotations

import io
import json
import multiprocessing
import time
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import ROOT, changed, render_file, sample

import toolkit
from toolkit import ledger
from toolkit.files import load_data
from toolkit.identifiers import uscc_check_character
from toolkit.ledger import database, schema, store
from toolkit.ledger.models import Base, Decision, Number, Submission, now
from toolkit.ledger.numbers import allocate
from toolkit.office import numbering
from toolkit.sinks import FolderSink

FORM = "tj-high-tech-enterprise-application"
RECOGNITION, REJECTION = "tj-high-tech-recognition-notice", "rejection-notice"
EXAMPLES = ROOT / "examples"
OFFICE = load_data(EXAMPLES / "ledger-office.toml")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The ledger's database: a SQLite file, then a PostgreSQL database."""
    return str(tmp_path / "ledger.db") if request.param == "sqlite" else request.getfixturevalue("pg_url")


# --- submissions ---------------------------------------------------------------------------------------------


def applicant(data: dict[str, Any], n: int) -> dict[str, Any]:
    """``data`` as the application of another enterprise, the ``n``-th (a valid 统一社会信用代码 of its own)."""
    first = f"9112011600000{n:04d}"
    return changed(data, {"enterprise.name": f"天津第{n}号科技有限公司",
                          "enterprise.uscc": first + uscc_check_character(first)})


def variant(docx: bytes, n: int) -> bytes:
    """The rendered application of the sample's enterprise as the ``n``-th enterprise's (``applicant``), made by
    replacing the name and the code in the Word file's text: many distinct submissions without rendering each."""
    before, after = sample(FORM)["enterprise"], applicant(sample(FORM), n)["enterprise"]
    source, out = zipfile.ZipFile(io.BytesIO(docx)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "word/document.xml":
                text = content.decode("utf-8")
                assert before["name"] in text and before["uscc"] in text
                content = text.replace(before["name"], after["name"]).replace(before["uscc"], after["uscc"]).encode()
            target.writestr(item, content)
    return out.getvalue()


@pytest.fixture(scope="session")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Submitted Word files: eligible, ineligible, with the office's sections still blank, a copy, a broken file
    and a file of another form (Word files are read as their PDFs are; PDFs are taken in by the command's tests)."""
    folder = tmp_path_factory.mktemp("inbox")
    good = sample(FORM)
    bad = json.loads((EXAMPLES / "ledger-ineligible-application.json").read_text(encoding="utf-8"),
                     parse_float=Decimal)
    files = {"eligible": render_file(FORM, good, folder / "1-eligible.docx"),
             "ineligible": render_file(FORM, bad, folder / "2-ineligible.docx"),
             "pending": render_file(FORM, applicant(changed(good, delete=["expert_score", "district_review"]), 7),
                                    folder / "3-pending.docx"),
             "other": render_file("tj-productivity-center-application", sample("tj-productivity-center-application"),
                                  folder / "5-other-form.docx")}
    files["copy"] = folder / "4-eligible-copy.docx"
    files["copy"].write_bytes(files["eligible"].read_bytes())
    files["broken"] = folder / "6-broken.docx"
    files["broken"].write_bytes(files["eligible"].read_bytes()[:3000])
    return files


def _take_in(book: ledger.Ledger, inbox: dict[str, Path], *names: str) -> dict[str, ledger.Received]:
    received = ledger.intake(book, FORM, [inbox[n] for n in names])
    return dict(zip(names, received, strict=True))


# --- intake --------------------------------------------------------------------------------------------------


def test_intake_records_each_file_once_with_its_findings(db: str, inbox: dict[str, Path]) -> None:
    with ledger.Ledger(db) as book:
        got = _take_in(book, inbox, "eligible", "ineligible", "copy", "broken", "other")
        assert {n: r.status for n, r in got.items()} == {
            "eligible": "待审", "ineligible": "待补正", "copy": "重复", "broken": "无法读取", "other": "无法读取"}
        assert got["copy"].submission == got["eligible"].submission
        assert got["ineligible"].errors == 3 and "tj-productivity-center-application" in got["other"].reason
        again = ledger.intake(book, FORM, [inbox["ineligible"], inbox["broken"]])
        assert [r.status for r in again] == ["重复", "重复"]
        with book.reading() as session:
            items = store.submissions(session)
            assert len(items) == 4
            eligible = store.submission(session, got["eligible"].submission)
            assert eligible.data == sample(FORM)  # exact decimals survive the database
            assert eligible.applicant_uscc == sample(FORM)["enterprise"]["uscc"] and eligible.rules_version
            assert eligible.sha256 == __import__("hashlib").sha256(inbox["eligible"].read_bytes()).hexdigest()
            ineligible = store.submission(session, got["ineligible"].submission)
            figures = {f.rule: (f.value, f.bound, f.unit) for f in ineligible.findings}
            assert figures["rd-staff-ratio"][1:] == (Decimal("0.07"), "%")
            kinds = [e.kind for e in store.events(session, got["eligible"].submission)]
            assert kinds == ["intake", "duplicate"]
            assert [e.kind for e in store.events(session, got["broken"].submission)] == ["intake", "duplicate"]


def test_a_resubmission_is_linked_to_the_earlier_one(db: str, inbox: dict[str, Path], tmp_path: Path) -> None:
    corrected = render_file(FORM, changed(sample(FORM), {"contact.phone": "022-58186673"}), tmp_path / "again.docx")
    with ledger.Ledger(db) as book:
        first = ledger.intake(book, FORM, [inbox["eligible"]])[0]
        second = ledger.intake(book, FORM, [corrected])[0]
        assert second.previous == first.submission and second.status == "待审"
        with book.reading() as session:
            assert store.submission(session, first.submission).status == "已重新提交"
            assert [e.kind for e in store.events(session, first.submission)] == ["intake", "resubmitted"]
        with pytest.raises(ledger.NotDecidable, match="已由申请人重新提交"):
            ledger.decide_submission(book, first.submission, "通过", "张三")


# --- decisions -----------------------------------------------------------------------------------------------


def test_decisions_are_refused_while_rules_fail_or_items_are_pending(db: str, inbox: dict[str, Path]) -> None:
    with ledger.Ledger(db) as book:
        got = _take_in(book, inbox, "eligible", "ineligible", "pending", "broken")
        with pytest.raises(toolkit.UnusableInput, match="不是审核部门填写的部分"):
            ledger.decide_submission(book, got["pending"].submission, "通过", "李四", review={"staff": {}})
        refused = ledger.decide_submission(book, got["ineligible"].submission, "通过", "张三")
        assert not refused.recorded and {f.rule for f in refused.failed} == {
            "rd-staff-ratio", "rd-expense-ratio-under-5000", "expert-score-above-60"}
        assert not ledger.decide_submission(book, got["eligible"].submission, "不予通过", "张三").recorded
        waiting = ledger.decide_submission(book, got["pending"].submission, "通过", "张三")
        assert not waiting.recorded and {f.path for f in waiting.pending} == {"/expert_score", "/district_review"}
        rejected = ledger.decide_submission(book, got["ineligible"].submission, "不予通过", "李四", note="三项不符")
        assert rejected.recorded and rejected.notice == REJECTION and len(rejected.failed) == 3
        approved = ledger.decide_submission(book, got["eligible"].submission, "通过", "李四")
        assert approved.recorded and approved.notice == RECOGNITION
        review = {"expert_score": 81, "district_review": sample(FORM)["district_review"]}
        assert ledger.decide_submission(book, got["pending"].submission, "通过", "李四", review=review).recorded
        with pytest.raises(ledger.NotDecidable, match="已作出决定"):
            ledger.decide_submission(book, got["eligible"].submission, "通过", "李四")
        with pytest.raises(ledger.NotDecidable, match="无法读取"):
            ledger.decide_submission(book, got["broken"].submission, "通过", "李四")
        with book.reading() as session:
            decided = store.submission(session, got["ineligible"].submission)
            assert decided.status == "不予通过" and decided.decision is not None
            assert (decided.decision.decided_by, decided.decision.note) == ("李四", "三项不符")
            assert [e.kind for e in store.events(session, decided.id)] == ["intake", "refused", "decision"]
            pending = store.submission(session, got["pending"].submission)
            assert pending.data is not None and pending.data["expert_score"] == 81
            assert [e.kind for e in store.events(session, pending.id)] == ["intake", "refused", "review", "decision"]


# --- numbers -------------------------------------------------------------------------------------------------


def _decisions(book: ledger.Ledger, count: int) -> list[int]:
    """``count`` approved decisions written straight into the ledger (numbers need nothing else)."""
    def write(session: Any) -> list[int]:
        moment = now()
        items = [Submission(form=FORM, file_name=f"{i}.pdf", sha256=f"{i:064d}", status="通过", received_at=moment,
                            updated_at=moment, decision=Decision(verdict="通过", decided_by="张三", decided_at=moment,
                                                                 notice=RECOGNITION)) for i in range(count)]
        session.add_all(items)
        session.flush()
        return [item.decision.id for item in items]
    return book.write(write)


def _allocate_all(db: str, decision_ids: list[int], start: float) -> list[str]:
    """In another process: wait for the common start, then take a number for each decision."""
    with ledger.Ledger(db) as book:
        numbered = numbering(OFFICE, toolkit.form(RECOGNITION))
        time.sleep(max(0.0, start - time.time()))
        return [n.text for d in decision_ids for n in allocate(book, d, numbered, 2016)]


def test_concurrent_issuers_never_share_a_number(db: str) -> None:
    with ledger.Ledger(db) as book:
        ids = _decisions(book, 24)
    start = time.time() + 0.5
    with multiprocessing.get_context("fork").Pool(4) as pool:
        taken = pool.starmap(_allocate_all, [(db, ids[i::4], start) for i in range(4)])
    texts = [t for part in taken for t in part]
    numbers = sorted(t for t in texts if t.startswith("津滨政发"))
    assert len(set(numbers)) == 24 and numbers == sorted(f"津滨政发〔2016〕{n}号" for n in range(96, 120))
    certificates = sorted(t for t in texts if t.startswith("津滨高企"))
    assert certificates == [f"津滨高企2016-{n:03d}" for n in range(1, 25)]
    with ledger.Ledger(db) as book:
        numbered = numbering(OFFICE, toolkit.form(RECOGNITION))
        again = [n.text for n in allocate(book, ids[0], numbered, 2016)]
        assert again == taken[0][:2]  # asked again, a decision keeps its numbers
        with book.reading() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Number)) == 48


# --- notices -------------------------------------------------------------------------------------------------


def _document_text(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read("word/document.xml").decode("utf-8")


def test_notices_are_issued_numbered_recorded_and_never_twice(db: str, inbox: dict[str, Path],
                                                               tmp_path: Path) -> None:
    out = tmp_path / "notices"
    facts = load_data(EXAMPLES / "ledger-recognition.json")
    with ledger.Ledger(db) as book:
        got = _take_in(book, inbox, "eligible", "ineligible")
        ledger.decide_submission(book, got["eligible"].submission, "通过", "张三")
        ledger.decide_submission(book, got["ineligible"].submission, "不予通过", "张三")
        result = ledger.issue(book, RECOGNITION, OFFICE, facts, FolderSink(out))
        assert [(o.row, o.status) for o in result.outcomes] == [(got["eligible"].submission, "written")]
        document = out / result.outcomes[0].file
        assert "津滨政发〔2016〕96号" in _document_text(document) and "津滨高企2016-001" in _document_text(document)
        rejection = ledger.issue(book, REJECTION, OFFICE, load_data(EXAMPLES / "ledger-rejection.json"),
                                 FolderSink(out), status="不予通过")
        assert "津滨政发〔2016〕97号" in _document_text(out / rejection.outcomes[0].file)  # the same series
        again = ledger.issue(book, RECOGNITION, OFFICE, facts, FolderSink(out))
        assert [o.status for o in again.outcomes] == ["skipped"] and "96号" in again.outcomes[0].message
        with book.reading() as session:
            decided = store.submission(session, got["eligible"].submission).decision
            assert decided is not None and decided.document_number == "津滨政发〔2016〕96号"
            assert decided.document_sha256 == __import__("hashlib").sha256(document.read_bytes()).hexdigest()
            assert {n.field: n.text for n in decided.numbers} == {"number": "津滨政发〔2016〕96号",
                                                                  "certificate.number": "津滨高企2016-001"}
            assert session.scalar(sa.select(sa.func.count()).select_from(Number)) == 3
            kinds = [e.kind for e in store.events(session, got["eligible"].submission)]
            assert kinds == ["intake", "decision", "number", "number", "issued"]
        with pytest.raises(toolkit.UnusableInput, match="由台账按编号规则分配"):
            ledger.issue(book, RECOGNITION, OFFICE, {**facts, "number": {"year": 2016, "serial": 5}}, FolderSink(out))
        with pytest.raises(ledger.NothingToIssue):
            ledger.issue(book, RECOGNITION, OFFICE, facts, FolderSink(out), status="不予通过")


def test_an_incomplete_office_part_takes_no_number(db: str, inbox: dict[str, Path], tmp_path: Path) -> None:
    with ledger.Ledger(db) as book:
        got = _take_in(book, inbox, "eligible")
        ledger.decide_submission(book, got["eligible"].submission, "通过", "张三")
        facts = load_data(EXAMPLES / "ledger-recognition.json")
        del facts["certificate"]
        result = ledger.issue(book, RECOGNITION, OFFICE, facts, FolderSink(tmp_path))
        assert result.outcomes[0].status == "failed" and "市级高企证书" in result.outcomes[0].message
        with book.reading() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Number)) == 0


# --- the database itself -------------------------------------------------------------------------------------


def test_the_event_log_is_append_only(db: str) -> None:
    with ledger.Ledger(db) as book:
        _decisions(book, 1)
        book.write(lambda session: store.log(session, "note", None, "张三", text="x"))
        for statement in ("UPDATE events SET kind = 'other'", "DELETE FROM events"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), book.engine.begin() as connection:
                connection.exec_driver_sql(statement)


def test_the_migrations_build_the_models_tables(db: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with ledger.Ledger(db) as book, book.engine.connect() as connection:
        assert schema.current(connection) == schema.head()
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []


def _insert(connection: sa.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    connection.execute(sa.text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                               f"({', '.join(':' + c for c in columns)})"), rows)


def test_a_migration_from_the_previous_version_keeps_every_row(db: str) -> None:
    engine = database.engine(db)
    schema.upgrade(engine, "0001")
    moment = "2024-11-08 09:30:00"
    submissions = [{"form": FORM, "file_name": f"{i}.pdf", "sha256": f"{i:064d}", "status": status, "data": data,
                    "applicant_name": "天津某公司", "applicant_uscc": uscc, "received_at": moment,
                    "updated_at": moment}
                   for i, (status, uscc, data) in enumerate([("待补正", "91120116786375429R", '{"a": 1.50}'),
                                                             ("通过", "91120116786375429R", '{"a": 2}'),
                                                             ("无法读取", None, None)], start=1)]
    with engine.begin() as connection:
        _insert(connection, "submissions", submissions)
        _insert(connection, "findings", [{"submission_id": 1, "rule": "r", "clause": "第九条", "path": "/a",
                                          "title": "甲", "severity": "error", "message": "低于", "value": "0.05",
                                          "bound": "0.07", "unit": "%", "pending": False, "stage": "application"}])
        _insert(connection, "decisions", [{"submission_id": 2, "verdict": "通过", "decided_by": "张三",
                                           "decided_at": moment, "notice": RECOGNITION,
                                           "document_number": "津滨政发〔2016〕5号", "document_sha256": "f" * 64}])
        _insert(connection, "events", [{"submission_id": i, "at": moment, "kind": "intake", "detail": "{}"}
                                       for i in (1, 2, 3)])
    before = _dump(engine)
    engine.dispose()
    with ledger.Ledger(db) as book:  # first use migrates
        after = _dump(book.engine)
        for table, rows in before.items():
            assert [{k: r[k] for k in rows[0]} for r in after[table]] == rows, table
        assert [r["previous_id"] for r in after["submissions"]] == [None, 1, None]
        assert after["decisions"][0]["issued_at"] is not None
        with book.reading() as session:
            assert store.submission(session, 1).data == {"a": Decimal("1.50")}
            assert [e.kind for e in store.events(session, 2)] == ["intake"]
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), book.engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM events")


def _dump(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as connection:
        return {table: [dict(r._mapping) for r in connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))]
                for table in ("submissions", "findings", "decisions", "events")}


def test_two_first_uses_at_once_migrate_once(db: str) -> None:
    with multiprocessing.get_context("fork").Pool(3) as pool:
        pool.map(_open_and_count, [db] * 3)
    engine = database.engine(db)
    with engine.connect() as connection:
        assert schema.current(connection) == schema.head()
        assert connection.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


def _open_and_count(db: str) -> int:
    with ledger.Ledger(db) as book, book.reading() as session:
        return len(store.submissions(session))


def test_unusable_databases_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(toolkit.UnusableInput, match="台账不存在"):
        ledger.Ledger(tmp_path / "none.db", create=False)
    with pytest.raises(toolkit.UnusableInput, match="不支持的数据库类型"):
        ledger.Ledger("nosuchdb://host/x")
    with pytest.raises(store.LedgerUnavailable, match="无法打开台账数据库"):
        ledger.Ledger("postgresql://nobody@/none?host=/nonexistent")
    (tmp_path / "not-a-db.db").write_bytes(b"this is no database" * 100)
    with pytest.raises(store.LedgerUnavailable):
        ledger.Ledger(tmp_path / "not-a-db.db")


def test_the_commands_on_a_postgresql_url(pg_url: str, inbox: dict[str, Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from toolkit.cli import main

    url = pg_url.replace("postgresql+psycopg://", "postgresql://")  # psycopg 3 is meant by a plain postgresql://
    for args, code in ((["intake", FORM, str(inbox["eligible"]), str(inbox["broken"]), "--db", url], 2),
                       (["ledger", "upgrade", "--db", url], 0), (["ledger", "list", "--json", "--db", url], 0)):
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        assert exit_info.value.code == code
    out = capsys.readouterr().out
    assert "已是最新版本（0004）" in out and "postgresql+psycopg://postgres@/" in out
    listed = json.loads(out[out.index("["):])
    assert [(item["id"], item["status"]) for item in listed] == [(1, "待审"), (2, "无法读取")]


def test_the_ledgers_names_stay_its_functions_whatever_was_imported_first() -> None:
    """A submodule named like a function would replace it on the package once imported (``ledger.intake`` the module,
    not the function): the ledger's modules are named otherwise."""
    import importlib
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(ledger.__path__)}
    for name in ledger.__all__:
        assert name not in modules, name
        importlib.import_module(f"toolkit.ledger.{ledger._WHERE[name]}") if name in ledger._WHERE else None
        assert not isinstance(getattr(ledger, name), type(ledger)), name
