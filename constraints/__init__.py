"""dqloop's pure core: profiles, suggestion rules, constraint suites and their SageMaker forms.

Public surface:
    plan_columns, projection, Column, SkippedColumn         which columns, under which names and types
    profile, Profile, ProfileOptions, KllParameters         one fused Deequ scan (plus one grouping pass)
    suggest, Suite and the constraint types                 suggestions checked on a held-out split
    statistics_document, constraints_document               SageMaker's JSON
    load_baseline, Baseline, BaselineError                  a baseline read back and checked
    validate, ValidationReport, CheckResult                 a partition checked against a baseline (measured by
                                                            constraints.scan: one pass, tallied by Python workers)
    Thresholds                                              calibrated (default) or SageMaker's fixed thresholds
    history_checks, HistoryOptions                          metrics against their history (n-sigma, rate of change)
    DqloopError and its subclasses                          see constraints.errors
The pandera schema (constraints.pandera_schema) and Deequ verification of a suite on its own
(constraints.verification.verify) are imported from their modules.
"""

from constraints.anomaly import HistoryOptions, history_checks
from constraints.baseline import Baseline, BaselineError, load_baseline
from constraints.checks import CheckResult
from constraints.columns import Column, SkippedColumn, plan_columns, projection
from constraints.errors import (DataError, DqloopError, EmptyInput, InputNotFound, SetupError, UnreadableInput,
                                UsageError)
from constraints.profile import KllParameters, Profile, ProfileOptions, profile
from constraints.sagemaker import MONITORING_CONFIG_DEFAULTS, constraints_document, statistics_document
from constraints.suggest import suggest
from constraints.suite import (HasCompleteness, HasLengthBetween, HasType, IsInDomain, IsInRange, IsNonNegative,
                               IsUnique, Suite)
from constraints.thresholds import Thresholds
from constraints.validation import ValidationReport, validate

__all__ = [
    "Baseline", "BaselineError", "load_baseline", "CheckResult", "ValidationReport", "validate",
    "Thresholds", "HistoryOptions", "history_checks",
    "Column", "SkippedColumn", "plan_columns", "projection",
    "DataError", "DqloopError", "EmptyInput", "InputNotFound", "SetupError", "UnreadableInput", "UsageError",
    "KllParameters", "Profile", "ProfileOptions", "profile",
    "MONITORING_CONFIG_DEFAULTS", "constraints_document", "statistics_document",
    "suggest",
    "HasCompleteness", "HasLengthBetween", "HasType", "IsInDomain", "IsInRange", "IsNonNegative", "IsUnique", "Suite",
]
