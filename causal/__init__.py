"""Causal impact of a change on a metric series (Google's CausalImpact through bsts-causalimpact).

Pure: series (the metric series from the metrics history or a table, the intervention point), effect (the
counterfactual and the effects with intervals). The edge is jobs/impact.py.
"""

from causal.effect import Impact, Settings, estimate
from causal.series import history_frame, history_series, post_start, table_series

__all__ = ["Impact", "Settings", "estimate", "history_frame", "history_series", "post_start", "table_series"]
