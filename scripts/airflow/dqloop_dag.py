"""Airflow DAG: validate each day's partition of a model's production table on Spark, then push a
labeling sample of it to Label Studio.

Copy this file into Airflow's dags/ folder and adjust the settings below (or set them as Airflow
Variables of the same names). It needs Airflow 3 (checked with 3.3.2: scripts/airflow/check loads it in a real DagBag) and
apache-airflow-providers-apache-spark,
a Spark connection `spark_dqloop` (host spark://MASTER, or yarn; Admin -> Connections), and on the
worker that runs the tasks: Spark (spark-submit on PATH or SPARK_HOME) and the files scripts/package
builds (dist/ copied to DQLOOP_DIST). Credentials never live here: S3 access comes from the
worker's instance profile or environment, LABEL_STUDIO_URL/LABEL_STUDIO_API_KEY from the worker's
environment or an Airflow secrets backend.

    wait for the partition (_SUCCESS) -> validate {{ ds }} -> push a labeling sample of {{ ds }}

validate exits 1 when the partition violates the baseline: the task fails, Airflow alerts, and the
sample is pushed anyway (trigger rule all_done; the push fails on its own if the partition never
came), with the drift strategy, so annotators see the rows that drifted.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG

DIST = os.environ.get("DQLOOP_DIST", "/opt/dqloop/dist")            # what scripts/package built
TABLE = os.environ.get("DQLOOP_TABLE", "s3a://ml-data/churn/predictions")   # partitioned by ds=YYYY-MM-DD
BASELINE = os.environ.get("DQLOOP_BASELINE", "s3a://ml-monitoring/churn/baseline")
REPORTS = os.environ.get("DQLOOP_REPORTS", "s3a://ml-monitoring/churn/validate")
PROJECT = os.environ.get("DQLOOP_LABEL_PROJECT", "churn-review")

PARTITION = TABLE + "/ds={{ ds }}"
# The arguments of `dqloop validate` (tests/test_scheduling.py parses them with dqloop's own parser).
VALIDATE_ARGS = ["validate", "--baseline", BASELINE, "--input", PARTITION,
                 "--output", REPORTS + "/ds={{ ds }}", "--metrics-repo", REPORTS + "/_metrics"]
# The arguments of `dqloop label push` (no Spark: it reads the partition with pandas/pyarrow).
LABEL_ARGS = ["label", "push", "--input", PARTITION, "--project", PROJECT, "--strategy", "drift", "--size", "200",
              "--violations", REPORTS + "/ds={{ ds }}/constraint_violations.json",
              "--baseline-statistics", BASELINE + "/statistics.json", "--seed", "{{ ds_nodash }}"]


def _partition_complete(ds: str) -> bool:
    """The upstream writer's _SUCCESS marker is there (object stores: a folder is complete only then)."""
    from pyarrow import fs as pafs  # S3 credentials from the worker's environment or instance profile

    uri = PARTITION.replace("{{ ds }}", ds).replace("s3a://", "s3://") + "/_SUCCESS"
    filesystem, path = pafs.FileSystem.from_uri(uri)
    return filesystem.get_file_info(path).type != pafs.FileType.NotFound


with DAG(
    dag_id="dqloop_validate_and_label",
    description="dqloop: validate each new partition against the baseline, then push a labeling sample",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10)},
    tags=["dqloop", "data-quality"],
) as dag:
    wait = PythonSensor(task_id="wait_for_partition", python_callable=_partition_complete,
                        op_kwargs={"ds": "{{ ds }}"}, mode="reschedule", poke_interval=600, timeout=12 * 3600)

    validate = SparkSubmitOperator(
        task_id="validate",
        conn_id="spark_dqloop",
        application=f"{DIST}/dqloop_main.py",
        application_args=VALIDATE_ARGS,
        name="dqloop-validate-{{ ds }}",
        # dist/conf/standalone (or yarn, kubernetes) carries the Deequ jar, the packed environment
        # (spark.archives) and the executors' Python; see docs/cluster.md
        env_vars={"SPARK_CONF_DIR": f"{DIST}/conf/standalone"},
        conf={"spark.pyspark.driver.python": f"{DIST}/driver-env/bin/python"},  # client mode: dist unpacked here
        retries=0,  # exit 1 means violations: alert, do not retry
    )

    push_sample = BashOperator(
        task_id="push_labeling_sample",
        bash_command=f"{DIST}/driver-env/bin/dqloop " + " ".join(f"'{a}'" for a in LABEL_ARGS),
        trigger_rule="all_done",  # also after violations: drifted partitions are the ones to label
    )

    wait >> validate >> push_sample
