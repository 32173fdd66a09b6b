"""Canary judgement: is the candidate model worse than the one in production?

Pure: intervals (Newcombe's interval for an unpaired difference), sequential (the always-valid confidence
sequence and the labels needed), shift (label-free differences of predictions and scores), judge (the
labeled comparison and the verdict), report (the document of one look). The edge is jobs/canary.py.
"""

from canary.intervals import Difference, newcombe
from canary.judge import PROMOTE, ROLL_BACK, WATCH, Labeled, Settings, Verdict, paired, unpaired, verdict
from canary.report import SHADOW, TRAFFIC_SPLIT, Report, shadow, traffic_split
from canary.sequential import Sequence, half_width, labels_needed, sequence

__all__ = ["Difference", "Labeled", "PROMOTE", "ROLL_BACK", "Report", "SHADOW", "Sequence", "Settings",
           "TRAFFIC_SPLIT", "Verdict", "WATCH", "half_width", "labels_needed", "newcombe", "paired", "sequence",
           "shadow", "traffic_split", "unpaired", "verdict"]
