"""dqloop's pure core: profiles, suggestion rules, constraint suites and their SageMaker forms.

Public surface:
    plan_columns, projection, Column, SkippedColumn         which columns, under which names and types
    profile, Profile, ProfileOptions, KllParameters         one fused Deequ scan (plus one grouping pass)
    suggest, Suite and the constraint types                 suggestions checked on a held-out split
    statistics_document, constraints_document               SageMaker's JSON
    pandera_schema, pandera_yaml                            the suite for serving-time pandas validation
    DqloopError and its subclasses                          see constraints.errors
"""

from constraints.columns import Column, SkippedColumn, plan_columns, projection
from constraints.errors import (DataError, DqloopError, EmptyInput, InputNotFound, SetupError, UnreadableInput,
                                UsageError)
from constraints.profile import KllParameters, Profile, ProfileOptions, profile
from constraints.sagemaker import MONITORING_CONFIG_DEFAULTS, constraints_document, statistics_document
from constraints.suggest import suggest
from constraints.suite import (HasCompleteness, HasLengthBetween, HasType, IsInDomain, IsInRange, IsNonNegative,
                               IsUnique, Suite)

__all__ = [
    "Column", "SkippedColumn", "plan_columns", "projection",
    "DataError", "DqloopError", "EmptyInput", "InputNotFound", "SetupError", "UnreadableInput", "UsageError",
    "KllParameters", "Profile", "ProfileOptions", "profile",
    "MONITORING_CONFIG_DEFAULTS", "constraints_document", "statistics_document",
    "suggest",
    "HasCompleteness", "HasLengthBetween", "HasType", "IsInDomain", "IsInRange", "IsNonNegative", "IsUnique", "Suite",
]
