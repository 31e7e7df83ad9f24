"""Records per second of shenbao's validator against ``jsonschema.validate()`` called per record.

Both run in this process on the same records: variants of every sample of the catalogue with numbers
moved so that many of them fail some rule, and one in ten missing a whole section. ``jsonschema.validate``
checks the schema and builds a validator on every call (what a naive caller does); shenbao builds them once,
and also evaluates every eligibility rule. Run: ``.venv/bin/python bench/validate.py [--records N]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema

import toolkit
from toolkit.formats import FORMAT_CHECKER

ROOT = Path(__file__).resolve().parent.parent


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


def records(count: int) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(20261122)
    samples = {f.id: json.loads((ROOT / "samples" / f"{f.id}.json").read_text(encoding="utf-8"), parse_float=Decimal)
               for f in toolkit.forms() if (ROOT / "samples" / f"{f.id}.json").exists()}
    ids = sorted(samples)
    batch = [(ids[i % len(ids)], _variants(copy.deepcopy(samples[ids[i % len(ids)]]), rng)) for i in range(count)]
    for _, data in batch[::10]:  # one record in ten is incomplete: its first section is missing
        del data[next(iter(data))]
    return batch


def rate(function: Any, batch: list[tuple[str, dict[str, Any]]]) -> float:
    start = time.perf_counter()
    for form_id, data in batch:
        function(form_id, data)
    return len(batch) / (time.perf_counter() - start)


def plain_jsonschema(form_id: str, data: dict[str, Any]) -> None:
    try:
        jsonschema.validate(data, toolkit.schema(form_id), format_checker=FORMAT_CHECKER)
    except jsonschema.ValidationError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    args = parser.parse_args()
    batch = records(args.records)
    for form_id in {f for f, _ in batch}:  # load schemas and rules before timing either side
        toolkit.validate(form_id, batch[0][1] if batch[0][0] == form_id else {})
    failing = sum(not toolkit.validate(f, d).ok for f, d in batch)
    schema_invalid = sum(not toolkit.form(f).validator.is_valid(d) for f, d in batch)
    baseline_batch = batch[: max(len(batch) // 10, 50)]
    baseline = rate(plain_jsonschema, baseline_batch)
    ours = rate(toolkit.validate, batch)
    print(f"records: {len(batch)} over {len({f for f, _ in batch})} forms, {failing} failing some rule "
          f"({schema_invalid} of them failing the schema)")
    print(f"jsonschema.validate() per record: {baseline:,.0f} records/s ({len(baseline_batch)} records)")
    print(f"shenbao validate (schema + rules): {ours:,.0f} records/s")
    print(f"ratio: {ours / baseline:.1f}")


if __name__ == "__main__":
    main()
