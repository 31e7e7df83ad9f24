"""Records per second of shenbao's ``check`` (the schema and every eligibility rule) beside the schema alone:
``jsonschema.validate()`` per record, a ``jsonschema`` validator built once, and fastjsonschema compiled once (given
the forms' format checks as plain functions, as a caller of fastjsonschema alone would). shenbao's check runs its own
compiled schema check (``toolkit.schema_check``) and then every rule; a record already as reading leaves it skips
the reading.

Every side gets the same records: variants of every sample of the catalogue with numbers moved so that many of them
fail some rule, and one in ten missing a whole section. Before any timing, the sides' yes/no verdicts on the schema
are checked equal on every record (shenbao's: no ``schema.*`` or ``format.*`` finding). The sides then alternate,
record by record in a rotating order, over seven repetitions in this process; records/s and the ratio of two sides
within each repetition are printed as median (min–max). ``jsonschema.validate()`` checks the schema and builds a
validator on every call (what a naive caller does), too slow for every record: it gets one record of each form, and
shenbao is timed on those same records beside it. Last, the aim of issue 16: shenbao on the high-tech application alone,
beside fastjsonschema on the same records. Run: ``.venv/bin/python bench/validate.py [--records N]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

import toolkit
from toolkit.formats import FORMAT_CHECKER
from toolkit.schema_check import fast_check

ROOT = Path(__file__).resolve().parent.parent
HIGH_TECH = "tj-high-tech-enterprise-application"
Batch = list[tuple[str, dict[str, Any]]]
Side = Callable[[str, dict[str, Any]], bool]  # a record's yes/no on the schema


def _variants(data: Any, rng: random.Random) -> Any:
    """A copy of ``data`` with each number but years scaled by 0.8–1.25."""
    if isinstance(data, dict):
        return {k: _variants(v, rng) for k, v in data.items()}
    if isinstance(data, list):
        return [_variants(v, rng) for v in data]
    if isinstance(data, int) and 1900 <= data <= 2100:
        return data  # a year: moving it would only make the record invalid
    if isinstance(data, Decimal) or (isinstance(data, int) and not isinstance(data, bool)):
        scaled = Decimal(data) * Decimal(rng.randint(80, 125)) / 100
        return int(scaled) if isinstance(data, int) else scaled.quantize(Decimal("0.01"))
    return data


def records(count: int, only: str | None = None) -> Batch:
    """``count`` variants of the samples, of every form in turn (or of ``only``); one in ten lacks a section."""
    rng = random.Random(20261122)
    samples = {f.id: json.loads((ROOT / "samples" / f"{f.id}.json").read_text(encoding="utf-8"), parse_float=Decimal)
               for f in toolkit.forms() if (ROOT / "samples" / f"{f.id}.json").exists()}
    ids = [only] if only else sorted(samples)
    batch = [(ids[i % len(ids)], _variants(copy.deepcopy(samples[ids[i % len(ids)]]), rng)) for i in range(count)]
    for _, data in batch[::10]:  # one record in ten is incomplete: its first section is missing
        del data[next(iter(data))]
    return batch


def shenbao(form_id: str, data: dict[str, Any]) -> bool:
    report = toolkit.check(form_id, data)
    return not any(f.rule.startswith(("schema.", "format.")) for f in report.findings)


def plain_jsonschema(form_id: str, data: dict[str, Any]) -> bool:
    try:
        jsonschema.validate(data, toolkit.schema(form_id), format_checker=FORMAT_CHECKER)
    except jsonschema.ValidationError:
        return False
    return True


_REUSED: dict[str, Draft202012Validator] = {}


def reused_jsonschema(form_id: str, data: dict[str, Any]) -> bool:
    return _REUSED[form_id].is_valid(data)


_FAST: dict[str, Callable[[Any], bool]] = {}


def fastjsonschema(form_id: str, data: dict[str, Any]) -> bool:
    """fastjsonschema compiled once per form, given the forms' format checks as plain functions (what a caller
    using fastjsonschema alone would write; shenbao's own schema check is ``toolkit.schema_check``)."""
    if form_id not in _FAST:
        _FAST[form_id] = fast_check(toolkit.schema(form_id)) or (lambda data: False)
    return _FAST[form_id](data)


def agreed(sides: dict[str, Side], batch: Batch) -> None:
    """Every side gives every record the same verdict on the schema (else the comparison is void)."""
    for form_id, data in batch:
        verdicts = {name: side(form_id, data) for name, side in sides.items()}
        if len(set(verdicts.values())) > 1:
            raise SystemExit(f"the sides disagree on a record of {form_id}: {verdicts}")


def alternated(sides: dict[str, Side], batch: Batch, repeat: int) -> dict[str, list[float]]:
    """Records/s of each side in each repetition. The sides take turns record by record (each record goes through
    every side, the first of them changing from one record to the next), so a change in the machine's load between
    two moments falls on every side alike."""
    rates: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides.items())
    clock = time.perf_counter
    for _ in range(repeat):
        spent = dict.fromkeys(sides, 0.0)
        for number, (form_id, data) in enumerate(batch):
            turn = number % len(order)
            for name, side in order[turn:] + order[:turn]:
                start = clock()
                side(form_id, data)
                spent[name] += clock() - start
        for name, seconds in spent.items():
            rates[name].append(len(batch) / seconds)
    return rates


def spread(values: list[float], places: int = 0) -> str:
    """Median (min–max)."""
    return f"{statistics.median(values):,.{places}f} ({min(values):,.{places}f}–{max(values):,.{places}f})"


def ratios(rates: dict[str, list[float]], ours: str, theirs: str) -> list[float]:
    return [a / b for a, b in zip(rates[ours], rates[theirs], strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1050)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    batch, high_tech = records(args.records), records(max(args.records // 3, 50), only=HIGH_TECH)
    firsts = list({form_id: (form_id, data) for form_id, data in batch[::-1]}.values())  # one record per form
    _REUSED.update({f: Draft202012Validator(toolkit.schema(f), format_checker=FORMAT_CHECKER) for f, _ in firsts})
    agreed({"shenbao": shenbao, "jsonschema (reused)": reused_jsonschema, "fastjsonschema": fastjsonschema},
           batch + high_tech)  # also compiles every form's schema and rules before any timing
    agreed({"shenbao": shenbao, "jsonschema.validate()": plain_jsonschema}, firsts)
    failing = sum(not toolkit.check(f, d).ok for f, d in batch)
    schema_invalid = sum(not fastjsonschema(f, d) for f, d in batch)
    print(f"records: {len(batch)} over {len(firsts)} forms, {failing} failing some rule ({schema_invalid} of them "
          f"failing the schema); every side's verdict on the schema agrees on every record")
    sides = {"reused": reused_jsonschema, "fast": fastjsonschema, "shenbao": shenbao}
    rates = {**alternated({"validate": plain_jsonschema, "shenbao (same)": shenbao}, firsts, args.repeat),
             **alternated(sides, batch, args.repeat),
             **{f"high-tech {name}": value for name, value in alternated(
                 {"fast": fastjsonschema, "shenbao": shenbao}, high_tech, args.repeat).items()}}
    print(f"records/s, median (min–max) of {args.repeat} alternated repetitions:")
    print(f"  jsonschema.validate() per record   {spread(rates['validate'])}   ({len(firsts)} records, one per form)")
    print(f"  jsonschema validator, reused       {spread(rates['reused'])}")
    print(f"  fastjsonschema, compiled once      {spread(rates['fast'])}")
    print(f"  shenbao check (schema + all rules) {spread(rates['shenbao'])}")
    print("ratios, median (min–max) of the repetitions:")
    print(f"  shenbao / fastjsonschema           {spread(ratios(rates, 'shenbao', 'fast'), 2)}")
    print(f"  shenbao / reused jsonschema        {spread(ratios(rates, 'shenbao', 'reused'), 1)}")
    print(f"  shenbao / jsonschema.validate()    {spread(ratios(rates, 'shenbao (same)', 'validate'), 0)}"
          f"   (on the same {len(firsts)} records)")
    print(f"high-tech application only ({len(high_tech)} records; aim: >= 5,000 records/s, >= 0.65x fastjsonschema):")
    print(f"  fastjsonschema                     {spread(rates['high-tech fast'])}")
    print(f"  shenbao check (schema + all rules) {spread(rates['high-tech shenbao'])}")
    print(f"  shenbao / fastjsonschema           {spread(ratios(rates, 'high-tech shenbao', 'high-tech fast'), 2)}")
    print(f"ratio: {statistics.median(ratios(rates, 'high-tech shenbao', 'high-tech fast')):.2f}")


if __name__ == "__main__":
    main()
