#!/usr/bin/env python3
"""Expected Wasserstein, Hellinger and L-infinity distances, and verdicts by
chosen methods and drift share, from numpy and scipy.

TestMethodsCrossCheck (pkg/drift) compares drift.Compare's reports with
methods_expected.json, which this script writes from the cross-check datasets
of hack/crosscheck/crosscheck.py (shifted_*, same_*) and a pair of its own
(methods_*: integers too spread out to count per value, integer ranges with a
gap between them, ±Inf, values near 1e9 with a tiny spread, categories
present on one side only). The Go test does not need Python; run this after
changing a definition and commit its output:

    /usr/bin/python3 pkg/drift/testdata/crosscheck/methods.py   # Debian: python3-scipy python3-pandas

Definitions (docs/statistics.md):
  wasserstein_distance = scipy.stats.wasserstein_distance(baseline, current)
                         on the raw non-null values (null when a side has ±Inf)
  wasserstein_normed   = wasserstein_distance / max(np.std(baseline), 0.001)
  hellinger_distance   = sqrt(sum((sqrt(p) - sqrt(q))**2) / 2) over the bins or
                         categories and raw shares of js_distance; checked here to
                         equal sqrt(1 - sum(sqrt(p*q))) within 1e-7
  linf_distance        = max |p - q| over the union of categories
  drift_share          = drifted / compared columns
"""

import json
import os
import sys

import numpy as np
import scipy
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "hack", "crosscheck"))
import crosscheck as cc  # noqa: E402  the binning and categories of the existing cross-check


def hellinger(bc, cc_):
    bc = np.asarray(bc, dtype="float64")
    cc_ = np.asarray(cc_, dtype="float64")
    p, q = bc / bc.sum(), cc_ / cc_.sum()
    h = float(np.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2) / 2))
    other = float(np.sqrt(max(1 - np.sum(np.sqrt(p * q)), 0.0)))
    assert abs(h - other) < 1e-7, (h, other)
    return h


def numeric(b, c, binning, rules, col):
    b = b[~np.isnan(b)]
    c = c[~np.isnan(c)]
    base = cc.numeric_drift(b, c, binning)
    out = {"hellinger_distance": hellinger(base["baseline_counts"], base["current_counts"])}
    if np.isinf(b).any() or np.isinf(c).any():
        out["wasserstein_distance"] = None
        out["wasserstein_normed"] = None
    else:
        w = float(stats.wasserstein_distance(b, c))
        out["wasserstein_distance"] = w
        out["wasserstein_normed"] = w / max(float(np.std(b)), 0.001)
    method, threshold = rules.get(col, rules.get("numeric", ("psi", 0.1)))
    value = {"psi": base["psi"], "ks": base["ks_pvalue"], "js": base["js_distance"],
             "wasserstein": out["wasserstein_normed"], "hellinger": out["hellinger_distance"]}[method]
    if method == "ks":
        drifted = value < threshold
    else:
        drifted = value is not None and value >= threshold
    out.update({"method": method, "threshold": threshold, "drift_detected": bool(drifted),
                "psi": base["psi"], "js_distance": base["js_distance"]})
    return out


def categorical(b, c, rules, col):
    base = cc.categorical_drift(b, c)
    vb = b.dropna().map(lambda v: "True" if v is True else ("False" if v is False else v)).value_counts()
    vc = c.dropna().map(lambda v: "True" if v is True else ("False" if v is False else v)).value_counts()
    cats = sorted(set(vb.index) | set(vc.index), key=lambda s: s.encode("utf-8"))
    bc = np.array([int(vb.get(k, 0)) for k in cats])
    cc_ = np.array([int(vc.get(k, 0)) for k in cats])
    p, q = bc / bc.sum(), cc_ / cc_.sum()
    out = {"hellinger_distance": hellinger(bc, cc_), "linf_distance": float(np.max(np.abs(p - q)))}
    method, threshold = rules.get(col, rules.get("categorical", ("psi", 0.1)))
    value = {"psi": base["psi"], "js": base["js_distance"], "linf": out["linf_distance"],
             "hellinger": out["hellinger_distance"], "chisquare": base["chi2_pvalue"]}[method]
    drifted = value < threshold if method == "chisquare" else value >= threshold
    out.update({"method": method, "threshold": threshold, "drift_detected": bool(drifted),
                "psi": base["psi"], "chi2_pvalue": base["chi2_pvalue"]})
    return out


def expected(b, c, binning, rules=None, share=None):
    rules = rules or {}
    out = {"numeric_drift": {}, "categorical_drift": {}}
    for cb, cc_ in zip(b["columns"], c["columns"]):
        sb, sc = cc.series(cb), cc.series(cc_)
        if cb["type"] in ("int64", "float64"):
            out["numeric_drift"][cb["name"]] = numeric(sb.to_numpy(dtype="float64"), sc.to_numpy(dtype="float64"), binning, rules, cb["name"])
        else:
            out["categorical_drift"][cb["name"]] = categorical(sb, sc, rules, cb["name"])
    cols = list(out["numeric_drift"].values()) + list(out["categorical_drift"].values())
    drifted = sum(1 for r in cols if r["drift_detected"])
    out["drift_share"] = drifted / len(cols)
    out["has_drift"] = drifted > 0 and (share is None or out["drift_share"] >= share)
    return out


def methods_pair(rng, n, m):
    b = cc.dataset([
        ("wide", "int64", [int(x) for x in rng.integers(-10**12, 10**12, n)]),
        ("gap", "int64", [int(x) for x in rng.integers(0, 10, n)]),
        ("big", "float64", [1e9 + float(x) for x in rng.integers(0, 8, n) / 8.0]),
        ("inf", "float64", [float("inf") if i == 3 else float(x) for i, x in enumerate(rng.normal(0, 1, n))]),
        ("normal", "float64", [None if i % 17 == 0 else float(x) for i, x in enumerate(rng.normal(5, 2, n))]),
        ("word", "string", ["w%d" % int(x) for x in rng.integers(0, 6, n)]),
    ])
    c = cc.dataset([
        ("wide", "int64", [int(x) for x in rng.integers(-10**12, 2 * 10**12, m)]),
        ("gap", "int64", [int(x) for x in rng.integers(100, 110, m)]),
        ("big", "float64", [1e9 + float(x) for x in rng.integers(1, 9, m) / 8.0]),
        ("inf", "float64", [float(x) for x in rng.normal(0.1, 1, m)]),
        ("normal", "float64", [float(x) for x in rng.normal(5.3, 2, m)]),
        ("word", "string", ["w%d" % int(x) for x in rng.integers(3, 9, m)]),
    ])
    return b, c


def main():
    rng = np.random.default_rng(20261206)
    load = lambda name: json.load(open(os.path.join(HERE, name)))  # noqa: E731
    sb, sc, same = load("shifted_baseline.json"), load("shifted_current.json"), load("same_baseline.json")
    mb, mc = methods_pair(rng, 700, 500)
    cc.write_json(os.path.join(HERE, "methods_baseline.json"), mb, compact=True)
    cc.write_json(os.path.join(HERE, "methods_current.json"), mc, compact=True)

    # The rules TestMethodsCrossCheck passes to drift.Compare.
    rules = {"numeric": ("wasserstein", 0.1), "categorical": ("linf", 0.1),
             "flag": ("chisquare", 0.05), "ints": ("ks", 0.05), "normal": ("hellinger", 0.2)}
    cases = {
        "shifted": {b: expected(sb, sc, b) for b in ("uniform", "quantile")},
        "same": {b: expected(same, same, b) for b in ("uniform", "quantile")},
        "methods": {"uniform": expected(mb, mc, "uniform")},
        "shifted_rules": {"uniform": expected(sb, sc, "uniform", rules, share=0.5)},
        "shifted_rules_share": {"uniform": expected(sb, sc, "uniform", rules, share=0.9)},
    }
    versions = {"numpy": np.__version__, "scipy": scipy.__version__}
    cc.write_json(os.path.join(HERE, "methods_expected.json"), {
        "generator": "pkg/drift/testdata/crosscheck/methods.py", "versions": versions,
        "rules": {k: {"method": v[0], "threshold": v[1]} for k, v in rules.items()}, "cases": cases})
    print("wrote", os.path.join(HERE, "methods_expected.json"), file=sys.stderr)


if __name__ == "__main__":
    main()
