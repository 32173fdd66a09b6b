"""Reports people read and numbers monitoring systems scrape, rendered from dqloop's documents.

Pure: documents (checks.json, statistics.json, the baseline, the metrics history) in, text out;
the jobs (jobs/validate.py, jobs/report.py, jobs/webhook.py) write the files and send the alerts.

Public surface:
    partition_report        report.html of one partition (reports.partition)
    index_page              index.html over all partitions, from the metrics history (reports.index)
    exposition, Sample, history_samples, statistics_samples, check_samples
                            Prometheus text format (reports.prometheus)
    alert_payload           Slack-compatible alert JSON (reports.alert)
    violations_table        the terminal's table of violations (reports.terminal)
Building blocks (reports.html, reports.charts, reports.distributions) are imported from their modules.
"""

from reports.alert import alert_payload
from reports.index import index_page
from reports.partition import partition_report
from reports.prometheus import Sample, check_samples, exposition, history_samples, statistics_samples
from reports.terminal import violations_table

__all__ = ["partition_report", "index_page", "exposition", "Sample", "history_samples", "statistics_samples",
           "check_samples", "alert_payload", "violations_table"]
