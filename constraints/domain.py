"""The domain classifier: can a model tell the baseline's rows from a partition's?

Every other check looks at one column at a time; a model trained to separate a bounded sample of the
baseline (label 0) from a bounded sample of the partition (label 1) sees the features together, so it
also finds changes in their joint distribution (a correlation that flips while every marginal stays).

  model          LightGBM (gradient-boosted trees; categorical features as LightGBM categoricals, missing
                 values as LightGBM's own missing branch), trained on the driver;
  samples        the baseline's sample (domain_sample.json) against the partition's, both from their passes'
                 row samples; a small partition is compared with a uniform subsample of the baseline's of at
                 most `baseline_ratio` (10) rows per partition row, at least MIN_BASELINE_ROWS: the null
                 AUROC's sd, sqrt((n0 + n1 + 1) / (12 n0 n1)), is then within 5% of its value against all
                 of them, and the training costs in proportion to the partition (bench/RESULTS.md);
  skill          k-fold stratified cross-validation: every row is scored by the model of its fold, which did not
                 see it, and each fold's AUROC on its held-out rows is measured; the drift measure is their
                 mean (0.5: no drift);
  reported       the AUROC, 2 AUROC - 1 (deepchecks' drift score) and Azure ML's drift coefficient: the
                 Matthews correlation of the out-of-fold class predictions (a row is called "partition" when
                 its score exceeds the partition's share of the training rows, i.e. 0.5 for equal samples),
                 shown 0-100 as Azure's dataset monitors showed it (negative values as 0);
  alarm          calibrated, not a fixed band. Within one fold the null is exact: the fold's scores come from a
                 model that saw none of its rows, so under no change its labels are exchangeable given the
                 scores and its AUROC follows the Mann-Whitney null (mean and tie-corrected variance exact,
                 `null_auc`; checked against scipy and a Monte Carlo of the permutations in tests/test_domain.py).
                 The folds' AUROCs are positively correlated (their models share training rows; pooling all
                 out-of-fold scores and permuting within folds ignores that, and bench/domain_study.py measured
                 11% of p-values below 0.05 under no change with it). Whatever the correlation, the standard
                 deviation of the mean of the folds' AUROCs is at most the mean of their standard deviations
                 (Minkowski), so the threshold uses that bound with the normal quantile: at most alpha up to
                 the normal approximation, whatever the correlation, and conservative (by up to sqrt(folds) in
                 sd when the folds are independent); measured in bench/RESULTS.md.
                 The threshold is the larger of that quantile and a minimum effect (AUROC 0.5 + min_effect/2,
                 plus `effect_sigmas` of those standard deviations), as constraints.thresholds sets the others;
  contributions  SHAP values (exact TreeSHAP: LightGBM's `pred_contrib`, which shap's TreeExplainer itself
                 returns for LightGBM models; tests/test_domain.py checks them against it) of each fold's
                 model on its held-out partition rows (at most `shap_rows` of them, spread evenly over the
                 folds): the mean |SHAP| per feature, as shares that add up to 1, times the drift
                 coefficient, so that the contributions add up to the drift (Azure's datadrift_contribution).

LightGBM runs on one thread by default: beside Spark's executors on a shared driver, OpenMP's threads
spin against each other (100 trees on 16,000 rows: 0.12 s on one thread, 6.4 s on two under load). The
folds' models are trained `parallel_folds` (2) at a time instead, each on its one thread: after the pass the
driver's cores are idle, LightGBM's training and prediction release Python's lock, and each fold's model is
the same whatever the order (a fixed seed, `deterministic`), so the result does not depend on it.

Pure: pandas frames and values in, values out; lightgbm is imported where it is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from constraints.checks import FAILED, PASSED, SKIPPED, CheckResult
from constraints.columns import PREDICTION
from constraints.suite import IsUnique
from constraints.thresholds import Threshold, Thresholds

CHECK = "domain_classifier_check"
NUMERIC, CATEGORICAL = "numeric", "categorical"
MIN_ROWS_PER_CLASS = 20   # fewer rows of either side: no classifier
MIN_BASELINE_ROWS = 1_000  # the baseline rows a small partition is still compared with


@dataclass(frozen=True)
class DomainOptions:
    """How the classifier is trained and judged. Sample sizes bound the work whatever the partition's size."""

    enabled: bool = True
    partition_rows: int = 10_000     # rows drawn from each partition (all of them when it has fewer)
    folds: int = 5
    trees: int = 100
    learning_rate: float = 0.1
    leaves: int = 31
    min_effect: float = 0.02         # smallest 2 AUROC - 1 worth an alarm
    shap_rows: int = 1_000           # held-out partition rows explained (spread over the folds)
    baseline_ratio: int = 10         # baseline rows trained on: at most this many per partition row (at least
                                     # MIN_BASELINE_ROWS); a small partition's power is set by its own rows
    threads: int = 1                 # LightGBM's OpenMP threads (one: no oversubscription beside Spark)
    parallel_folds: int = 2          # folds trained at once, each on `threads` threads (the result is the same)
    seed: int = 42

    def __post_init__(self) -> None:
        if self.partition_rows < 2 * MIN_ROWS_PER_CLASS:
            raise ValueError(f"the domain classifier's partition sample needs at least {2 * MIN_ROWS_PER_CLASS} "
                             f"rows, not {self.partition_rows}")
        if self.folds < 2 or self.trees < 1 or self.leaves < 2 or not 0 < self.learning_rate <= 1 \
                or self.baseline_ratio < 1:
            raise ValueError("domain classifier: folds >= 2, trees >= 1, leaves >= 2, 0 < learning_rate <= 1, "
                             "baseline_ratio >= 1")
        if self.shap_rows < 1 or self.threads < 1 or self.parallel_folds < 1:
            raise ValueError("domain classifier: shap_rows >= 1, threads >= 1, parallel_folds >= 1")
        if not 0 <= self.min_effect < 1:
            raise ValueError(f"domain classifier min_effect must be in [0, 1), not {self.min_effect!r}")


def feature_plan(baseline) -> tuple[tuple[str, str], ...]:
    """(name, kind) of the baseline's inputs the classifier uses: numeric features, and string features the
    baseline counted as categorical. Model outputs, identifiers (unique in the baseline) and free-text
    strings are left out: outputs follow from inputs, and ids or free text tell any two samples apart."""
    suite = baseline.suite
    roles = {c.name: c.role for c in suite.columns} if suite else {}
    unique = {s.constraint.column for s in suite.constraints if isinstance(s.constraint, IsUnique)} if suite else set()
    plan = []
    for f in baseline.features:
        if roles.get(f.name) == PREDICTION or f.name in unique:
            continue
        if f.is_numeric:
            plan.append((f.name, NUMERIC))
        elif f.categories:
            plan.append((f.name, CATEGORICAL))
    return tuple(plan)


def design(baseline: pd.DataFrame, partition: pd.DataFrame,
           plan: Sequence[tuple[str, str]]) -> tuple[pd.DataFrame, np.ndarray]:
    """The training frame (baseline rows, then partition rows) and the labels (0 baseline, 1 partition).
    Numbers as float64 (missing: NaN); categories as one pandas Categorical over the values of both sides,
    so LightGBM splits on them as categories and a value new in the partition is a category of its own."""
    columns = {}
    for name, kind in plan:
        both = pd.concat([baseline[name], partition[name]], ignore_index=True)
        if kind == NUMERIC:
            columns[name] = pd.to_numeric(both, errors="coerce").astype("float64")
        else:
            text = both.astype("string")
            columns[name] = pd.Categorical(text, categories=sorted(text.dropna().unique()))
    X = pd.DataFrame(columns)
    y = np.concatenate([np.zeros(len(baseline), dtype=np.int8), np.ones(len(partition), dtype=np.int8)])
    return X, y


def auroc(scores: np.ndarray, y: np.ndarray) -> float:
    """P(score of a partition row > score of a baseline row) + half the ties: the Mann-Whitney U over n0 n1."""
    ranks = stats.rankdata(scores)
    n1 = int(y.sum())
    n0 = len(y) - n1
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n0 * n1))


@dataclass(frozen=True)
class NullAuc:
    """The AUROC's distribution under no change, given the scores: labels permuted within folds."""

    mean: float
    sd: float

    def quantile(self, alpha: float) -> float:
        return self.mean + float(stats.norm.isf(alpha)) * self.sd

    def p_value(self, auc: float) -> float:
        return float(stats.norm.sf((auc - self.mean) / self.sd)) if self.sd > 0 else float(auc <= self.mean)


def null_auc(scores: np.ndarray, y: np.ndarray, folds: np.ndarray) -> NullAuc:
    """Exact mean and standard deviation of the AUROC when the labels are permuted within each fold (the
    scores, ranked over all rows with mid-ranks for ties, stay): the partition rows' rank sum is a sum over
    folds of independent draws without replacement of n1_k of the fold's N_k ranks, mean n1_k rbar_k and
    variance n1_k (N_k - n1_k) / (N_k (N_k - 1)) sum_i (r_i - rbar_k)^2. One fold gives the Mann-Whitney
    null with its tie correction."""
    ranks = stats.rankdata(scores)
    n1 = int(y.sum())
    n0 = len(y) - n1
    mean_r = var_r = 0.0
    for k in np.unique(folds):
        r = ranks[folds == k]
        big, small = len(r), int(y[folds == k].sum())
        mean_r += small * r.mean()
        if big > 1:
            var_r += small * (big - small) / (big * (big - 1)) * float(((r - r.mean()) ** 2).sum())
    shift = n1 * (n1 + 1) / 2
    return NullAuc((mean_r - shift) / (n0 * n1), math.sqrt(var_r) / (n0 * n1))


def drift_coefficient(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(Matthews correlation, Azure's drift coefficient 0-100): rows called "partition" when their score is
    above the partition's share of the rows (the prior; 0.5 for equal samples)."""
    from sklearn.metrics import matthews_corrcoef

    called = (scores > y.mean()).astype(np.int8)
    mcc = float(matthews_corrcoef(y, called))
    return mcc, 100.0 * max(mcc, 0.0)


@dataclass(frozen=True)
class DomainResult:
    auroc: float                                  # mean of the folds' held-out AUROCs
    mcc: float
    drift_coefficient: float                      # 0-100
    null: NullAuc                                 # of the mean: mean of the folds' null means, bound on its sd
    baseline_rows: int
    partition_rows: int
    folds: int
    contributions: tuple[tuple[str, float], ...]  # (feature, share of the mean |SHAP|), largest first
    fold_aurocs: tuple[float, ...] = ()
    fold_nulls: tuple[NullAuc, ...] = ()
    pooled_auroc: float | None = None             # AUROC of all out-of-fold scores together

    @property
    def skill(self) -> float:
        """2 AUROC - 1 (deepchecks' drift score; the Gini coefficient of the scores)."""
        return 2.0 * self.auroc - 1.0


def _shap(model, X: pd.DataFrame) -> np.ndarray:
    """Per-row, per-feature SHAP values (log-odds) of a LightGBM booster: LightGBM's exact TreeSHAP
    (categorical splits included), the values shap's TreeExplainer returns for it (it calls the same
    `pred_contrib`; asking LightGBM directly spares shap's import, about 0.6 CPU s, and its parse of the
    model, about 0.05 s a fold). The last column, the expected value, is dropped."""
    return model.predict(X, pred_contrib=True)[:, :-1]


def _fold(X: pd.DataFrame, y: np.ndarray, train: np.ndarray, test: np.ndarray, explained: np.ndarray | None,
          params: dict, trees: int) -> tuple[np.ndarray, float, NullAuc, np.ndarray | None]:
    """One fold: its model trained on `train`, its held-out scores, AUROC and null, and the sum of |SHAP|
    over its `explained` rows (None: not explained)."""
    import lightgbm as lgb

    data = lgb.Dataset(X.iloc[train], label=y[train], categorical_feature="auto", free_raw_data=False)
    model = lgb.train(params, data, num_boost_round=trees)
    scores = model.predict(X.iloc[test])
    shap_sum = np.abs(_shap(model, X.iloc[explained])).sum(axis=0) if explained is not None else None
    return scores, auroc(scores, y[test]), null_auc(scores, y[test], np.zeros(len(test), dtype=np.int8)), shap_sum


def classify(baseline: pd.DataFrame, partition: pd.DataFrame, plan: Sequence[tuple[str, str]],
             options: DomainOptions = DomainOptions(), explain: bool = True) -> DomainResult:
    """Train the classifier k-fold on the two samples; raises ValueError when either has too few rows.
    `explain=False` skips the SHAP contributions (equal shares; the alarm does not depend on them)."""
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.model_selection import StratifiedKFold

    if len(baseline) < MIN_ROWS_PER_CLASS or len(partition) < MIN_ROWS_PER_CLASS:
        raise ValueError(f"the domain classifier needs at least {MIN_ROWS_PER_CLASS} rows on each side "
                         f"(baseline sample {len(baseline)}, partition sample {len(partition)})")
    if not plan:
        raise ValueError("no numeric or categorical input feature to train on")
    most = max(options.baseline_ratio * len(partition), MIN_BASELINE_ROWS)
    if len(baseline) > most:   # AUROC's variance is set by the smaller side: more baseline rows add work, not power
        baseline = baseline.sample(n=most, random_state=options.seed)
    X, y = design(baseline, partition, plan)
    k = min(options.folds, len(baseline), len(partition))
    params = {"objective": "binary", "learning_rate": options.learning_rate, "num_leaves": options.leaves,
              "min_data_in_leaf": 20, "verbose": -1, "seed": options.seed, "deterministic": True,
              "force_col_wise": True, "num_threads": options.threads}
    scores = np.empty(len(y))
    shap_sum = np.zeros(len(plan))   # sum of |SHAP| over the explained rows (an equal number per fold)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=options.seed)
    rng = np.random.default_rng(options.seed)
    per_fold = max(1, options.shap_rows // k)
    folds = list(splitter.split(np.zeros(len(y)), y))
    explained: list[np.ndarray | None] = []   # drawn in fold order before any training: the same rows however run
    for _, test in folds:
        held_partition = test[y[test] == 1]
        if explain and len(held_partition) > per_fold:
            held_partition = rng.choice(held_partition, per_fold, replace=False)
        explained.append(held_partition if explain else None)
    with ThreadPoolExecutor(min(options.parallel_folds, k)) as pool:
        outcomes = list(pool.map(lambda fold, rows: _fold(X, y, *fold, rows, params, options.trees), folds, explained))
    for (_, test), (fold_scores, _, _, fold_shap) in zip(folds, outcomes):   # summed in fold order
        scores[test] = fold_scores
        if fold_shap is not None:
            shap_sum += fold_shap
    fold_aucs = [auc for _, auc, _, _ in outcomes]
    fold_nulls = [null for _, _, null, _ in outcomes]
    total = shap_sum.sum()
    shares = shap_sum / total if total > 0 else np.full(len(plan), 1.0 / len(plan))
    order = np.argsort(-shares, kind="stable")
    mcc, coefficient = drift_coefficient(scores, y)
    null = NullAuc(float(np.mean([n.mean for n in fold_nulls])), float(np.mean([n.sd for n in fold_nulls])))
    return DomainResult(float(np.mean(fold_aucs)), mcc, coefficient, null, len(baseline), len(partition), k,
                        tuple((plan[j][0], float(shares[j])) for j in order), tuple(fold_aucs), tuple(fold_nulls),
                        auroc(scores, y))


def auc_threshold(null: NullAuc, alpha: float, t: Thresholds, min_effect: float) -> Threshold:
    """The larger of the null's (1 - alpha) quantile and the minimum effect 0.5 + min_effect / 2 plus
    t.effect_sigmas null standard deviations (one-sided: only a rise is drift)."""
    noise = null.quantile(alpha)
    effect = 0.5 + min_effect / 2 + t.effect_sigmas * null.sd
    z = float(stats.norm.isf(alpha))
    text = (f"max of the no-change AUROC quantile {null.mean:.4f} + z = {z:.3f} (alpha {alpha:.3g}, one-sided) x sd "
            f"{null.sd:.4f} = {noise:.4f} (each fold's Mann-Whitney null; sd of the folds' mean bounded by their mean "
            f"sd) and the minimum effect 0.5 + "
            f"{min_effect:g}/2 + {t.effect_sigmas:g} sd = {effect:.4f}")
    return Threshold(max(noise, effect), noise, effect, alpha, text, {"null_mean": null.mean, "null_sd": null.sd,
                                                                       "z": z})


def domain_check(result: DomainResult, alpha: float, t: Thresholds = Thresholds(),
                 options: DomainOptions = DomainOptions(), top: int = 3) -> CheckResult:
    """domain_classifier_check: fails when the out-of-fold AUROC is above the calibrated threshold."""
    th = auc_threshold(result.null, alpha, t, options.min_effect)
    bad = result.auroc > th.value
    contributions = [{"feature": f, "share": s, "contribution": s * result.drift_coefficient}
                     for f, s in result.contributions]
    named = ", ".join(f"{c['feature']} ({100 * c['share']:.0f}%)" for c in contributions[:top])
    text = (f"A classifier tells the partition's rows from the baseline's with held-out AUROC {result.auroc:.4f} "
            f"(2 AUROC - 1 = {result.skill:.4f}; drift coefficient {result.drift_coefficient:.1f} of 100), "
            f"{'above' if bad else 'within'} the calibrated threshold {th.value:.4f}: {th.derivation}. ")
    text += (f"The features that carry the drift: {named}. Compare them together (joint changes, e.g. correlations) "
             "as well as one by one." if bad else f"Largest contributions: {named}.")
    details: dict[str, Any] = {
        "auroc": result.auroc, "skill": result.skill, "drift_coefficient": result.drift_coefficient,
        "matthews_correlation": result.mcc, "p_value": result.null.p_value(result.auroc),
        "baseline_sample_rows": result.baseline_rows, "partition_sample_rows": result.partition_rows,
        "folds": result.folds, "fold_aurocs": list(result.fold_aurocs), "pooled_auroc": result.pooled_auroc,
        "model": f"LightGBM, {options.trees} trees, {options.leaves} leaves, "
                                        f"learning rate {options.learning_rate:g}",
        "contributions": contributions, **th.to_details()}
    return CheckResult(CHECK, None, FAILED if bad else PASSED, result.auroc, th.value, text,
                       tuple(f"{c['feature']}: {c['contribution']:.2f}" for c in contributions[:top]), details)


def skipped(reason: str) -> CheckResult:
    return CheckResult(CHECK, None, SKIPPED, None, None, f"Domain classifier not run: {reason}.")


def metric_rows(r: CheckResult) -> list[dict[str, Any]]:
    """History rows of a domain_classifier_check: AUROC, 2 AUROC - 1 and the drift coefficient for the
    partition ("*"), and each feature's contribution."""
    if r.check != CHECK or r.measured is None:
        return []
    d = r.details
    rows = [{"feature": "*", "metric": "domain_auroc", "value": float(d["auroc"])},
            {"feature": "*", "metric": "domain_skill", "value": float(d["skill"])},
            {"feature": "*", "metric": "domain_drift_coefficient", "value": float(d["drift_coefficient"])}]
    rows += [{"feature": c["feature"], "metric": "domain_contribution", "value": float(c["contribution"])}
             for c in d.get("contributions", [])]
    return rows
