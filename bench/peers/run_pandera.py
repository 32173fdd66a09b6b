"""Runner for pandera's pyspark backend (venv bench/_envs/pandera), PANDERA_VALIDATION_DEPTH=SCHEMA_AND_DATA.

    bench/_envs/pandera/bin/python bench/peers/run_pandera.py --data D --warmup W --suite SUITE.json --out R.json

A pandera.pyspark.DataFrameSchema with dqloop's suite (suite.json), one check for one where pandera has it:
  has_type -> the column's dtype; has_completeness -> nullable=False when at_least is 1 (pandera checks
  no share of nulls: below 1 the column is nullable); is_non_negative -> Check.ge(0); is_in_range ->
  Check.in_range(lower, upper); is_in_domain -> Check.isin(values); has_length_between ->
  Check.str_length(min, max); is_unique -> not checked (pandera.pyspark.Column has no unique=; noted).
  The pyspark backend's isin refuses boolean columns (TypeError): a boolean domain is left unchecked, noted.
pandera has no `mostly`: a check with at_least < 1 is checked on every row (same work, stricter verdict).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import arguments, floor_and_work, spark_session, suite_constraints, versions, write  # noqa: E402

os.environ.setdefault("PANDERA_VALIDATION_DEPTH", "SCHEMA_AND_DATA")


def schema_for(df, constraints: list[dict], notes: list[str]):
    import pandera.pyspark as pa

    by_column: dict[str, list[dict]] = {}
    for c in constraints:
        by_column.setdefault(c["column"], []).append(c)
    columns = {}
    for field in df.schema.fields:
        cs = by_column.get(field.name, [])
        checks, nullable, unique = [], True, False
        for c in cs:
            kind = c["kind"]
            if kind == "has_completeness" and c["at_least"] >= 1.0:
                nullable = False
            elif kind == "is_non_negative":
                checks.append(pa.Check.ge(0))
            elif kind == "is_in_range":
                checks.append(pa.Check.in_range(c["lower"], c["upper"]))
            elif kind == "is_in_domain" and field.dataType.typeName() == "boolean":
                notes.append(f"{field.name}: no isin on boolean columns in the pyspark backend (TypeError), "
                             "domain not checked")
            elif kind == "is_in_domain":
                checks.append(pa.Check.isin(list(c["values"])))
            elif kind == "has_length_between":
                checks.append(pa.Check.str_length(c["min_length"], c["max_length"]))
            elif kind == "is_unique":
                unique = True
        if cs:
            if unique:  # pandera 0.35's pyspark Column has no unique= (TypeError): uniqueness is left unchecked
                notes.append(f"{field.name}: is_unique not checked (pandera.pyspark.Column takes no unique=)")
            columns[field.name] = pa.Column(field.dataType, checks=checks, nullable=nullable)
    return pa.DataFrameSchema(columns)


def main() -> None:
    args = arguments()
    spark = spark_session("bench-pandera")
    notes: list[str] = []
    try:
        constraints = suite_constraints(args.suite)

        def work(path):
            df = spark.read.parquet(path)
            out = schema_for(df, constraints, notes).validate(df)
            errors = out.pandera.errors
            failed = []
            for level in errors.values():
                for kind, entries in level.items():
                    failed += [f"{kind}:{e.get('column')}:{e.get('check')}" for e in entries]
            return {"failed": failed, "notes": sorted(set(notes))}

        runs = floor_and_work(spark, args, "pandera", work)
    finally:
        spark.stop()
    write(args.out, runs, versions("pandera", "pyspark", "pandas", "pyarrow"))


if __name__ == "__main__":
    main()
