#!/usr/bin/env python3
"""Generate the cross-check datasets and their expected profile and drift numbers.

The Go tests in pkg/profile and pkg/drift compare their results with the
files this script writes, to 1e-9 relative. The expected numbers come from
pandas, numpy and scipy, following docs/statistics.md literally, so they are an
independent implementation of the same definitions. The tests do not need
Python: run this once after changing a definition, and commit its output.

    python3 hack/crosscheck/crosscheck.py        # Debian: python3-pandas python3-scipy

Datasets are JSON: {"columns": [{"name", "type", "values"}]} with null for a
missing value and "NaN"/"Infinity"/"-Infinity" for non-finite floats.
"""

import json
import math
import os
import sys

import numpy as np
import pandas as pd
import scipy
from scipy import stats
from scipy.spatial.distance import jensenshannon

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PROFILE_DIR = os.path.join(ROOT, "pkg", "profile", "testdata", "crosscheck")
DRIFT_DIR = os.path.join(ROOT, "pkg", "drift", "testdata", "crosscheck")

EPS = 0.001
BINS = 10


# ---------------------------------------------------------------- encoding

def enc_float(x):
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def dec_float(v):
    if v is None:
        return np.nan  # a null
    if isinstance(v, str):
        return {"NaN": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}[v]
    return float(v)


def write_json(path, obj, compact=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        if compact:
            json.dump(obj, f, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
        else:
            json.dump(obj, f, indent=1, allow_nan=False, ensure_ascii=False)
        f.write("\n")


def dataset(columns):
    """columns: list of (name, type, python values)."""
    out = []
    for name, typ, vals in columns:
        if typ == "float64":
            vals = [enc_float(v) for v in vals]
        out.append({"name": name, "type": typ, "values": vals})
    return {"columns": out}


def series(col):
    typ, vals = col["type"], col["values"]
    if typ == "float64":
        return pd.Series([dec_float(v) for v in vals], dtype="float64")
    if typ == "int64":
        # Nulls make pandas use float64; the values stay exact (< 2**53).
        if any(v is None for v in vals):
            return pd.Series([np.nan if v is None else float(v) for v in vals], dtype="float64")
        return pd.Series(vals, dtype="int64")
    if typ == "bool":
        return pd.Series(vals, dtype="object")
    return pd.Series(vals, dtype="object")


# ---------------------------------------------------------------- profile (docs/statistics.md, Profiles)

def top_values(s, k=20):
    vc = s.dropna().map(lambda v: "True" if v is True else ("False" if v is False else v)).value_counts()
    items = sorted(vc.items(), key=lambda kv: (-kv[1], kv[0].encode("utf-8")))
    return {str(v): int(c) for v, c in items[:k]}


def profile(ds, path):
    cols, statistics, distributions, histograms = [], {}, {}, {}
    n_rows = len(ds["columns"][0]["values"]) if ds["columns"] else 0
    for col in ds["columns"]:
        s = series(col)
        typ = col["type"]
        dtype = {"int64": "int64", "float64": "float64", "bool": "bool", "string": "object"}[typ]
        nulls = int(s.isna().sum())
        cols.append({"name": col["name"], "dtype": dtype, "nullable": nulls > 0,
                     "unique_count": int(s.nunique(dropna=True)), "null_count": nulls})
        if typ in ("int64", "float64"):
            v = s.dropna().to_numpy(dtype="float64")
            st = {"count": int(len(v)), "mean": None, "std": None, "min": None, "max": None,
                  "percentiles": {"25": None, "50": None, "75": None}}
            hist = None
            if len(v):
                with np.errstate(invalid="ignore"):
                    st["mean"] = enc_float(s.mean())
                    st["std"] = enc_float(s.std(ddof=1)) if len(v) >= 2 else None
                    st["min"] = enc_float(s.min())
                    st["max"] = enc_float(s.max())
                    q = np.percentile(v, [25, 50, 75])
                st["percentiles"] = {"25": enc_float(q[0]), "50": enc_float(q[1]), "75": enc_float(q[2])}
                fin = v[np.isfinite(v)]
                if len(fin):
                    counts, edges = np.histogram(fin, bins=BINS)
                    hist = {"edges": [enc_float(e) for e in edges], "counts": [int(c) for c in counts]}
            statistics[col["name"]] = st
            histograms[col["name"]] = hist
        else:
            distributions[col["name"]] = top_values(s)
    return {"path": path, "num_rows": n_rows, "num_columns": len(ds["columns"]), "file_size": 0,
            "schema": {"columns": cols}, "statistics": statistics,
            "distributions": distributions, "histograms": histograms}


# ---------------------------------------------------------------- drift (docs/statistics.md, Drift)

def severity(psi):
    return "low" if psi < 0.05 else ("medium" if psi < 0.1 else "high")


def binned_metrics(bc, cc):
    bc = np.asarray(bc, dtype="int64")
    cc = np.asarray(cc, dtype="int64")
    p = bc / bc.sum()
    q = cc / cc.sum()
    pe = np.where(p == 0, EPS, p)
    qe = np.where(q == 0, EPS, q)
    psi = float(np.sum((qe - pe) * np.log(qe / pe)))
    pk = np.clip(p, 1e-10, 1)
    qk = np.clip(q, 1e-10, 1)
    kl = float(np.sum(pk * np.log(pk / qk)))
    js = float(jensenshannon(bc.astype("float64"), cc.astype("float64"), base=2))
    return psi, kl, js


def counts_for(values, edges):
    idx = np.searchsorted(np.asarray(edges, dtype="float64"), values, side="right")
    return np.bincount(idx, minlength=len(edges) + 1)


def numeric_drift(b, c, binning, bins=BINS):
    b = b[~np.isnan(b)]
    c = c[~np.isnan(c)]
    fb = b[np.isfinite(b)]
    if binning == "uniform":
        mn, mx = float(fb.min()), float(fb.max())
        edges = [i * ((mx - mn) / bins) + mn for i in range(1, bins)]
    else:
        edges = [float(e) for e in np.unique(np.quantile(fb, [i / bins for i in range(1, bins)]))]
    bc, cc = counts_for(b, edges), counts_for(c, edges)
    psi, kl, js = binned_metrics(bc, cc)
    d = float(stats.ks_2samp(b, c).statistic)
    n, m = len(b), len(c)
    en = n * m / (n + m)
    pv = float(min(max(stats.kstwobign.sf(np.sqrt(en) * d), 0.0), 1.0))
    return {"psi": psi, "severity": severity(psi), "drift_detected": psi >= 0.1,
            "kl_divergence": kl, "js_distance": js, "ks_statistic": d, "ks_pvalue": pv,
            "edges": edges, "baseline_counts": [int(x) for x in bc], "current_counts": [int(x) for x in cc]}


def categorical_drift(b, c):
    vb = b.dropna().map(lambda v: "True" if v is True else ("False" if v is False else v)).value_counts()
    vc = c.dropna().map(lambda v: "True" if v is True else ("False" if v is False else v)).value_counts()
    cats = sorted(set(vb.index) | set(vc.index), key=lambda s: s.encode("utf-8"))
    bc = np.array([int(vb.get(k, 0)) for k in cats])
    cc = np.array([int(vc.get(k, 0)) for k in cats])
    psi, _, js = binned_metrics(bc, cc)
    if len(cats) > 1:
        chi2, p, _, _ = stats.chi2_contingency(np.array([bc, cc]), correction=False)
    else:
        chi2, p = 0.0, 1.0
    return {"psi": psi, "severity": severity(psi), "drift_detected": psi >= 0.1, "js_distance": js,
            "chi2": float(chi2), "chi2_pvalue": float(p), "num_categories": len(cats)}


def pinned_numeric(prof, name, c):
    h = prof["histograms"][name]
    edges = [float(e) for e in h["edges"][1:-1]]
    c = c[~np.isnan(c)]
    bc, cc = np.array(h["counts"]), counts_for(c, edges)
    psi, kl, js = binned_metrics(bc, cc)
    return {"psi": psi, "severity": severity(psi), "drift_detected": psi >= 0.1,
            "kl_divergence": kl, "js_distance": js, "ks_statistic": None, "ks_pvalue": None,
            "edges": edges, "baseline_counts": [int(x) for x in bc], "current_counts": [int(x) for x in cc]}


# ---------------------------------------------------------------- data

def mixed_dataset(rng, n):
    def nullify(vals, rate):
        return [None if rng.random() < rate else v for v in vals]
    ints = nullify([int(x) for x in rng.integers(-50, 1000, n)], 0.05)
    normal = nullify([float(x) for x in rng.normal(10, 3, n)], 0.05)
    big = [1e9 + float(x) for x in rng.integers(0, 8, n) / 8.0]  # spread of units in the last digits
    cats = nullify(["cat%02d" % int(min(rng.pareto(1.2), 49)) for _ in range(n)], 0.03)
    flags = nullify([bool(x) for x in rng.random(n) < 0.3], 0.1)
    const = [3.25] * n
    wide = [int(x) for x in rng.integers(-10**12, 10**12, n)]
    odd = [float(x) for x in rng.normal(0, 1, n)]
    for i in range(0, n, 97):
        odd[i] = float("nan")
    odd[5], odd[17], odd[33] = float("inf"), float("-inf"), float("inf")
    words = nullify([("é" if rng.random() < 0.5 else "e") + str(int(rng.integers(0, 5))) for _ in range(n)], 0.02)
    return dataset([("ints", "int64", ints), ("normal", "float64", normal), ("big", "float64", big),
                    ("cat", "string", cats), ("flag", "bool", flags), ("const", "float64", const),
                    ("wide", "int64", wide), ("odd", "float64", odd), ("words", "string", words)])


def small_dataset():
    return dataset([("x", "int64", [1, 2, 3, 4, None]),
                    ("y", "float64", [0.1, 0.2, 0.3, None, 0.7]),
                    ("s", "string", ["b", "a", "b", None, "c"]),
                    ("n", "float64", [None] * 5)])


def drift_pair(rng, n, m, shift):
    def cats(k, size, skew):
        w = np.arange(1, k + 1, dtype=float) ** -skew
        return [("c%d" % i) for i in rng.choice(k, size=size, p=w / w.sum())]
    b = dataset([
        ("normal", "float64", [float(x) for x in rng.normal(0, 1, n)]),
        ("ints", "int64", [int(x) for x in rng.integers(0, 20, n)]),
        ("cat", "string", cats(12, n, 1.0)),
        ("flag", "bool", [bool(x) for x in rng.random(n) < 0.4]),
        ("const", "float64", [2.0] * n),
        ("disjoint", "float64", [float(x) for x in rng.uniform(0, 1, n)]),
    ])
    c = dataset([
        ("normal", "float64", [float(x) for x in rng.normal(shift, 1.2, m)]),
        ("ints", "int64", [int(x) for x in rng.integers(0, 25, m)]),
        ("cat", "string", cats(14, m, 1.0 + shift)),
        ("flag", "bool", [bool(x) for x in rng.random(m) < 0.4 + shift / 4]),
        ("const", "float64", [2.0] * (m // 2) + [float(x) for x in rng.normal(2, 1, m - m // 2)]),
        ("disjoint", "float64", [float(x) for x in rng.uniform(5, 6, m)]),
    ])
    return b, c


def drift_expected(b, c, binning):
    out = {"numeric_drift": {}, "categorical_drift": {}}
    for cb, cc in zip(b["columns"], c["columns"]):
        sb, sc = series(cb), series(cc)
        if cb["type"] in ("int64", "float64"):
            out["numeric_drift"][cb["name"]] = numeric_drift(sb.to_numpy(dtype="float64"), sc.to_numpy(dtype="float64"), binning)
        else:
            out["categorical_drift"][cb["name"]] = categorical_drift(sb, sc)
    return out


def special_values():
    ks = [{"x": x, "sf": float(stats.kstwobign.sf(x))}
          for x in [0.0, 0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 0.8, 0.82, 0.8200001, 0.9, 1.0, 1.2, 1.36, 1.63, 2.0, 3.0, 5.0, 8.0]]
    chi = []
    for df in [1, 2, 3, 5, 10, 19, 99, 1000, 99999]:
        for frac in [0.01, 0.5, 0.9, 1.0, 1.1, 2.0, 5.0]:
            x = df * frac + (0.5 if frac == 0.01 and df == 1 else 0.0)
            chi.append({"x": float(x), "df": df, "sf": float(stats.chi2.sf(x, df))})
    chi += [{"x": 3.841458820694124, "df": 1, "sf": float(stats.chi2.sf(3.841458820694124, 1))},
            {"x": 250.0, "df": 3, "sf": float(stats.chi2.sf(250.0, 3))}]
    return {"kolmogorov_sf": ks, "chi2_sf": chi}


def main():
    rng = np.random.default_rng(20240601)
    versions = {"numpy": np.__version__, "pandas": pd.__version__, "scipy": scipy.__version__}

    small = small_dataset()
    mixed = mixed_dataset(rng, 1500)
    write_json(os.path.join(PROFILE_DIR, "small.json"), small, compact=True)
    write_json(os.path.join(PROFILE_DIR, "mixed.json"), mixed, compact=True)
    write_json(os.path.join(PROFILE_DIR, "expected.json"), {
        "generator": "hack/crosscheck/crosscheck.py", "versions": versions,
        "profiles": {"small": profile(small, "small"), "mixed": profile(mixed, "mixed")}})

    cases = {}
    for name, (n, m, shift) in {"shifted": (1200, 900, 0.5), "same": (800, 800, 0.0)}.items():
        b, c = drift_pair(rng, n, m, shift)
        write_json(os.path.join(DRIFT_DIR, name + "_baseline.json"), b, compact=True)
        if name == "same":
            c = b  # identical inputs, one file: every metric 0
        else:
            write_json(os.path.join(DRIFT_DIR, name + "_current.json"), c, compact=True)
        cases[name] = {binning: drift_expected(b, c, binning) for binning in ("uniform", "quantile")}

    # A stored profile as baseline: pinned histogram edges and counts.
    b = json.load(open(os.path.join(DRIFT_DIR, "shifted_baseline.json")))
    c = json.load(open(os.path.join(DRIFT_DIR, "shifted_current.json")))
    prof = profile(b, "shifted_baseline")
    write_json(os.path.join(DRIFT_DIR, "shifted_baseline_profile.json"), prof, compact=True)
    pinned = {"numeric_drift": {}}
    for cb, cc in zip(b["columns"], c["columns"]):
        if cb["type"] in ("int64", "float64"):
            pinned["numeric_drift"][cb["name"]] = pinned_numeric(prof, cb["name"], series(cc).to_numpy(dtype="float64"))
    cases["shifted_pinned"] = {"uniform": pinned}

    write_json(os.path.join(DRIFT_DIR, "expected.json"), {
        "generator": "hack/crosscheck/crosscheck.py", "versions": versions,
        "cases": cases, "special": special_values()})
    print("wrote", PROFILE_DIR, "and", DRIFT_DIR, file=sys.stderr)


if __name__ == "__main__":
    main()
