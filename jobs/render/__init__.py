"""Reports people read and numbers monitoring systems scrape, rendered from dqloop's documents.

Pure: documents (checks.json, statistics.json, the baseline, the metrics history) in, text out;
the jobs (jobs/validate.py, jobs/report.py, jobs/webhook.py) write the files and send the alerts.

Public surface:
    partition_report        report.html of one partition (jobs.render.partition)
    index_page              index.html over all partitions, from the metrics history (jobs.render.index)
    exposition, Sample, history_samples, statistics_samples, check_samples
                            Prometheus text format (jobs.render.prometheus)
    alert_payload           Slack-compatible alert JSON (jobs.render.alert)
    violations_table        the terminal's table of violations (jobs.render.terminal)
Building blocks (jobs.render.html, .charts, .distributions) are imported from their modules.
"""

from jobs.render.alert import alert_payload
from jobs.render.index import index_page
from jobs.render.partition import partition_report
from jobs.render.prometheus import Sample, check_samples, exposition, history_samples, statistics_samples
from jobs.render.terminal import violations_table

__all__ = ["partition_report", "index_page", "exposition", "Sample", "history_samples", "statistics_samples",
           "check_samples", "alert_payload", "violations_table"]
