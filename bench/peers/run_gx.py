"""Runner for Great Expectations 1.x on its Spark data source (venv bench/_envs/gx).

    bench/_envs/gx/bin/python bench/peers/run_gx.py --data D --warmup W --suite SUITE.json --out R.json

The expectations are dqloop's suite (suite.json of the baseline validate uses), one for one:
  has_completeness  expect_column_values_to_not_be_null (mostly = at_least)
  has_type          expect_column_values_to_be_of_type (the Spark type's class name)
  is_non_negative   expect_column_values_to_be_between (min_value 0)
  is_in_range       expect_column_values_to_be_between (mostly = at_least)
  is_in_domain      expect_column_values_to_be_in_set (mostly = at_least)
  has_length_between expect_column_value_lengths_to_be_between (mostly = at_least)
  is_unique         expect_column_values_to_be_unique
One ValidationDefinition over a whole-dataframe batch, run once on --warmup (untimed), then on --data.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import arguments, floor_and_work, spark_session, suite_constraints, versions, write  # noqa: E402

SPARK_TYPES = {"bigint": "LongType", "int": "IntegerType", "smallint": "ShortType", "tinyint": "ByteType",
               "double": "DoubleType", "float": "FloatType", "string": "StringType", "date": "DateType",
               "boolean": "BooleanType", "timestamp": "TimestampType"}


def expectations(gxe, constraints: list[dict]) -> list:
    out = []
    for c in constraints:
        col, kind, mostly = c["column"], c["kind"], min(c.get("at_least", 1.0), 1.0)
        if kind == "has_completeness":
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=col, mostly=mostly))
        elif kind == "has_type":
            out.append(gxe.ExpectColumnValuesToBeOfType(column=col, type_=SPARK_TYPES.get(c["spark_type"],
                                                                                          c["spark_type"])))
        elif kind == "is_non_negative":
            out.append(gxe.ExpectColumnValuesToBeBetween(column=col, min_value=0))
        elif kind == "is_in_range":
            out.append(gxe.ExpectColumnValuesToBeBetween(column=col, min_value=c["lower"], max_value=c["upper"],
                                                         mostly=mostly))
        elif kind == "is_in_domain":
            values = list(c["values"])
            if set(values) <= {"true", "false"}:  # suite.json keeps a boolean domain as strings; Spark's IN
                values = [v == "true" for v in values]  # will not compare boolean with string
            out.append(gxe.ExpectColumnValuesToBeInSet(column=col, value_set=values, mostly=mostly))
        elif kind == "has_length_between":
            out.append(gxe.ExpectColumnValueLengthsToBeBetween(column=col, min_value=c["min_length"],
                                                               max_value=c["max_length"], mostly=mostly))
        elif kind == "is_unique":
            out.append(gxe.ExpectColumnValuesToBeUnique(column=col))
        else:
            raise SystemExit(f"no Great Expectations equivalent for {kind}")
    return out


def main() -> None:
    args = arguments()
    import great_expectations as gx
    import great_expectations.expectations as gxe

    spark = spark_session("bench-gx")
    try:
        context = gx.get_context(mode="ephemeral")
        asset = context.data_sources.add_spark("spark").add_dataframe_asset("table")
        batch = asset.add_batch_definition_whole_dataframe("whole")
        suite = context.suites.add(gx.ExpectationSuite(name="dqloop-equivalent"))
        constraints = suite_constraints(args.suite)
        for e in expectations(gxe, constraints):
            suite.add_expectation(e)
        definition = context.validation_definitions.add(gx.ValidationDefinition(name="v", data=batch, suite=suite))

        def work(path):
            result = definition.run(batch_parameters={"dataframe": spark.read.parquet(path)})
            failed = [f"{r.expectation_config.type}:{r.expectation_config.kwargs.get('column')}"
                      for r in result.results if not r.success]
            raised = []
            for r in result.results:
                info = r.exception_info or {}
                for e in ([info] if "raised_exception" in info else list(info.values())):
                    if isinstance(e, dict) and e.get("raised_exception"):
                        raised.append(str(e.get("exception_message"))[:300])
            return {"expectations": len(result.results), "failed": failed, "raised": len(raised),
                    "first_exception": raised[0] if raised else None}

        runs = floor_and_work(spark, args, "gx", work)
    finally:
        spark.stop()
    write(args.out, runs, versions("great_expectations", "pyspark", "pandas", "pyarrow"))


if __name__ == "__main__":
    main()
