"""A baseline as the validate job reads it: statistics, constraints and suite, checked on load.

Readers accept the spellings seen in the wild (`"version": 0.0`, thresholds of 1.0, the typo key
`comparion_method`); anything else that does not fit raises BaselineError naming the file, the
place and what was expected, so a hand-edited baseline fails at load time, not half-way through.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from constraints.columns import FRACTIONAL, INTEGRAL, STRING, UNKNOWN
from constraints.errors import UsageError
from constraints.sagemaker import MONITORING_CONFIG_DEFAULTS
from constraints.suite import Suite

REQUIRED_FILES = ("statistics.json", "constraints.json")
TYPES = (INTEGRAL, FRACTIONAL, STRING, UNKNOWN)


class BaselineError(UsageError):
    """The baseline folder is incomplete, from another version, or not valid."""


@dataclass(frozen=True)
class FeatureBaseline:
    name: str
    inferred_type: str
    num_present: int
    completeness: float | None = None
    is_non_negative: bool | None = None
    domains: tuple[str, ...] | None = None
    mean: float | None = None
    std_dev: float | None = None
    kll_edges: tuple[float, ...] | None = None
    kll_levels: tuple[tuple[float, ...], ...] | None = None
    categories: dict[str, int] | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def is_numeric(self) -> bool:
        return self.inferred_type in (INTEGRAL, FRACTIONAL)


@dataclass(frozen=True)
class Baseline:
    item_count: int
    features: tuple[FeatureBaseline, ...]
    monitoring_config: dict[str, Any]
    suite: Suite | None = None
    extended: dict[str, Any] = field(default_factory=dict)   # extended_statistics.json (constraints.multivariate)

    def feature(self, name: str) -> FeatureBaseline | None:
        return next((f for f in self.features if f.name == name), None)

    def setting(self, feature: FeatureBaseline, key: str) -> Any:
        """A monitoring setting for `feature`: its override, else the global one."""
        if key in feature.overrides:
            return feature.overrides[key]
        if key in self.monitoring_config:
            return self.monitoring_config[key]
        return self.monitoring_config["distribution_constraints"][key]

    @property
    def ignored_columns(self) -> set[str]:
        """Columns the baseline deliberately did not profile (not 'extra' when they appear)."""
        if self.suite is None:
            return set()
        meta = self.suite.meta
        return ({s["name"] for s in self.suite.skipped_columns} | set(meta.get("excluded_columns", []))
                | set(meta.get("partition_columns", [])))


def _fail(file: str, where: str, expected: str) -> BaselineError:
    return BaselineError(f"Baseline file {file} is not valid at {where}: expected {expected}.",
                         "regenerate it with `dqloop baseline`, or fix the hand edit")


def _number(value: Any, file: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(file, where, f"a number, got {value!r}")
    return float(value)


def _version(doc: dict, file: str) -> None:
    if doc.get("version") not in (0, 0.0):
        raise BaselineError(f"Baseline file {file} has version {doc.get('version')!r}; this dqloop reads version 0.",
                            "regenerate the baseline with this dqloop (`dqloop baseline`)")


def _monitoring_config(raw: dict | None) -> dict[str, Any]:
    config = json.loads(json.dumps(MONITORING_CONFIG_DEFAULTS))
    raw = dict(raw or {})
    dist = dict(raw.pop("distribution_constraints", {}) or {})
    if "comparion_method" in dist:  # a typo that SageMaker's own files carry
        dist.setdefault("comparison_method", dist.pop("comparion_method"))
    config.update(raw)
    config["distribution_constraints"].update(dist)
    file = "constraints.json"
    for key in ("datatype_check_threshold", "domain_content_threshold"):
        _number(config[key], file, f"monitoring_config.{key}")
    for key in ("comparison_threshold", "categorical_comparison_threshold"):
        _number(config["distribution_constraints"][key], file, f"monitoring_config.distribution_constraints.{key}")
    if config["distribution_constraints"]["comparison_method"] not in ("Simple", "Robust"):
        raise _fail(file, "monitoring_config.distribution_constraints.comparison_method", "Simple or Robust")
    if config["distribution_constraints"]["categorical_drift_method"] not in ("LInfinity", "ChiSquared"):
        raise _fail(file, "monitoring_config.distribution_constraints.categorical_drift_method", "LInfinity or ChiSquared")
    return config


def load_baseline(texts: dict[str, str]) -> Baseline:
    """Parse and check a baseline from its files' texts ({file name: text})."""
    missing = [f for f in REQUIRED_FILES if f not in texts]
    if missing:
        raise BaselineError(f"The baseline folder lacks {', '.join(missing)}.",
                            "point --baseline at a folder written by `dqloop baseline`")
    docs = {}
    for name, text in texts.items():
        try:
            docs[name] = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BaselineError(f"Baseline file {name} is not valid JSON ({exc}).",
                                "regenerate it with `dqloop baseline`, or fix the hand edit") from None
    stats, cons = docs["statistics.json"], docs["constraints.json"]
    for name, doc in (("statistics.json", stats), ("constraints.json", cons)):
        if not isinstance(doc, dict):
            raise _fail(name, "the top level", "a JSON object")
        _version(doc, name)
    constraints_by_name = {}
    for i, f in enumerate(cons.get("features") or []):
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            raise _fail("constraints.json", f"features[{i}]", "an object with a name")
        constraints_by_name[f["name"]] = f

    features = []
    for i, f in enumerate(stats.get("features") or []):
        where = f"features[{i}]"
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            raise _fail("statistics.json", where, "an object with a name")
        if f.get("inferred_type") not in TYPES:
            raise _fail("statistics.json", f"{where}.inferred_type", " or ".join(TYPES))
        block = f.get("numerical_statistics") or f.get("string_statistics")
        if not isinstance(block, dict) or "common" not in block:
            raise _fail("statistics.json", where, "numerical_statistics or string_statistics with common counts")
        c = constraints_by_name.get(f["name"], {})
        kll = ((f.get("numerical_statistics") or {}).get("distribution") or {}).get("kll")
        edges = levels = None
        if kll:
            buckets = kll.get("buckets") or []
            edges = tuple([_number(b.get("lower_bound"), "statistics.json", f"{where} kll bucket") for b in buckets]
                          + [_number(buckets[-1].get("upper_bound"), "statistics.json", f"{where} kll bucket")]) \
                if buckets else None
            data = (kll.get("sketch") or {}).get("data")
            if not isinstance(data, list) or not all(isinstance(level, list) for level in data):
                raise _fail("statistics.json", f"{where}.numerical_statistics.distribution.kll.sketch.data",
                            "a list of lists of numbers")
            levels = tuple(tuple(float(x) for x in level) for level in data)
        cats = (((f.get("string_statistics") or {}).get("distribution") or {}).get("categorical") or {}).get("buckets")
        completeness = c.get("completeness")
        features.append(FeatureBaseline(
            name=f["name"], inferred_type=f["inferred_type"],
            num_present=int(_number(block["common"].get("num_present"), "statistics.json", f"{where}.common")),
            completeness=None if completeness is None else _number(completeness, "constraints.json",
                                                                   f"{f['name']}.completeness"),
            is_non_negative=(c.get("num_constraints") or {}).get("is_non_negative"),
            domains=tuple((c.get("string_constraints") or {}).get("domains") or ()) or None,
            mean=(f.get("numerical_statistics") or {}).get("mean"),
            std_dev=(f.get("numerical_statistics") or {}).get("std_dev"),
            kll_edges=edges, kll_levels=levels,
            categories={b["value"]: int(b["count"]) for b in cats} if cats else None,
            overrides=dict(c.get("monitoringConfigOverrides") or {}),
        ))
    if not features:
        raise _fail("statistics.json", "features", "at least one feature")
    suite = None
    if "suite.json" in docs:
        try:
            suite = Suite.from_dict(docs["suite.json"])
        except (ValueError, TypeError, KeyError) as exc:
            raise BaselineError(f"Baseline file suite.json is not valid: {exc}.",
                                "regenerate it with `dqloop baseline`, or fix the hand edit") from None
    return Baseline(int(_number((stats.get("dataset") or {}).get("item_count"), "statistics.json", "dataset.item_count")),
                    tuple(features), _monitoring_config(cons.get("monitoring_config")), suite,
                    extended if isinstance(extended := docs.get("extended_statistics.json"), dict) else {})
