"""dqloop's pure core: profiles, suggestion rules, constraint suites and their SageMaker forms.

Public surface:
    plan_columns, projection, Column, SkippedColumn         which columns, under which names and types
    profile_pass, Profile, ProfileOptions, KllParameters    the baseline's profile: one pass (validate's engine)
    deequ_profile.profile                                   the same from Deequ's analyzers (--engine deequ)
    suggest, Suite and the constraint types                 suggestions checked on a held-out split (the kinds,
                                                            their metrics and backends: constraints.kinds,
                                                            .metrics, .backends; docs/constraints.md)
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

from importlib import import_module
from typing import TYPE_CHECKING

# Loaded on first use (PEP 562), so that importing one pure module (constraints.suite, for the serving-time
# pandera schema) does not import Spark through this package.
_HOME = {
    "HistoryOptions": "anomaly", "history_checks": "anomaly",
    "Baseline": "baseline", "BaselineError": "baseline", "load_baseline": "baseline",
    "CheckResult": "checks",
    "Column": "columns", "SkippedColumn": "columns", "plan_columns": "columns", "projection": "columns",
    "DataError": "errors", "DqloopError": "errors", "EmptyInput": "errors", "InputNotFound": "errors",
    "SetupError": "errors", "UnreadableInput": "errors", "UsageError": "errors",
    "KllParameters": "profile", "Profile": "profile", "ProfileOptions": "profile",
    "profile_pass": "profiling",
    "MONITORING_CONFIG_DEFAULTS": "sagemaker", "constraints_document": "sagemaker", "statistics_document": "sagemaker",
    "suggest": "suggest",
    "HasCompleteness": "suite", "HasLengthBetween": "suite", "HasType": "suite", "IsInDomain": "suite",
    "IsInRange": "suite", "IsNonNegative": "suite", "IsUnique": "suite", "Suite": "suite",
    "Thresholds": "thresholds",
    "ValidationReport": "validation", "validate": "validation",
}


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'constraints' has no attribute {name!r}")
    value = getattr(import_module(f"constraints.{_HOME[name]}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from constraints.anomaly import HistoryOptions, history_checks
    from constraints.baseline import Baseline, BaselineError, load_baseline
    from constraints.checks import CheckResult
    from constraints.columns import Column, SkippedColumn, plan_columns, projection
    from constraints.errors import (DataError, DqloopError, EmptyInput, InputNotFound, SetupError, UnreadableInput,
                                    UsageError)
    from constraints.profile import KllParameters, Profile, ProfileOptions
    from constraints.profiling import profile_pass
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
    "KllParameters", "Profile", "ProfileOptions", "profile_pass",
    "MONITORING_CONFIG_DEFAULTS", "constraints_document", "statistics_document",
    "suggest",
    "HasCompleteness", "HasLengthBetween", "HasType", "IsInDomain", "IsInRange", "IsNonNegative", "IsUnique", "Suite",
]
