"""Reading local Parquet files Spark wrote: the schema comes from their footers, with no Spark job before the pass
(jobs.io._footer_schema), and it is the schema Spark's own inference gives; otherwise Spark infers it as before."""

from __future__ import annotations

import pandas as pd

from jobs.io import _footer_schema, _data_files, read_table


def _jobs_of(spark, action):
    sc = spark.sparkContext
    sc.setJobGroup("footer-schema", "footer-schema")
    try:
        result = action()
        return result, len(sc.statusTracker().getJobIdsForGroup("footer-schema"))
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)


def test_spark_written_files_are_read_with_their_footer_schema_and_no_job(spark, tmp_path):
    folder = str(tmp_path / "t")
    spark.createDataFrame(pd.DataFrame({"a": [1, 2, 3], "b": [0.5, None, 2.0], "c": ["x", None, "z"]})) \
        .repartition(2).write.parquet(folder)
    inferred = spark.read.parquet(folder).schema   # Spark's own inference (a job)
    table, jobs = _jobs_of(spark, lambda: read_table(spark, folder))
    assert jobs == 0
    assert table.df.schema == inferred
    assert sorted(r["a"] for r in table.df.collect()) == [1, 2, 3]


def test_files_of_other_schemas_or_not_written_by_spark_are_inferred_by_spark(spark, tmp_path):
    mixed = str(tmp_path / "mixed")
    spark.createDataFrame(pd.DataFrame({"a": [1, 2]})).write.parquet(mixed)
    spark.createDataFrame(pd.DataFrame({"a": [1.5, 2.5]})).write.mode("append").parquet(mixed)
    assert _footer_schema(mixed, _data_files(spark, mixed)) is None
    plain = tmp_path / "plain"
    plain.mkdir()
    pd.DataFrame({"a": [1, 2], "s": ["u", "v"]}).to_parquet(plain / "part-0.parquet")
    assert _footer_schema(str(plain), _data_files(spark, str(plain))) is None
    table, jobs = _jobs_of(spark, lambda: read_table(spark, str(plain)))
    assert jobs == 1   # Spark's schema inference, as before
    assert [(f.name, f.dataType.simpleString()) for f in table.df.schema] == [("a", "bigint"), ("s", "string")]
