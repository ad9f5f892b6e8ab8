// Polars (nodejs-polars) implementations of the mldata benchmark workloads, written the way a
// Polars user would: lazy scans where Polars can stream, eager frames where a result needs
// several passes, default CSV inference, all cores. See README.md for the comparison.
//
//   node polars.mjs startup                       (fixed cost: load Polars, build a 1-row frame)
//   node polars.mjs build   IN.csv OUTDIR         -> OUTDIR/all/part-0.parquet (zstd)
//   node polars.mjs split   IN.parquet OUTDIR     -> OUTDIR/<name>/part-0.parquet (snappy)
//   node polars.mjs profile IN OUT.json           IN is .csv or .parquet
//   node polars.mjs drift   BASE CUR OUT.json     both .csv or both .parquet

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  driftBins, driftCategorical, driftNumeric, epsilon, isParquet, main, psiThreshold, severity,
  splits, threads, topK, uniformEdges, writeJSON,
} from './lib.mjs';

// Polars sizes its thread pool from the environment when the native module loads, so the
// variable must be set before the (dynamic) import.
process.env.POLARS_MAX_THREADS = String(threads);
const { default: pl } = await import('nodejs-polars');

// CSV is read with timestamp parsing on, so ts is a datetime as in mldata and DuckDB (Polars
// leaves it text by default).
const csvOptions = { tryParseDates: true };
const read = (path) => (isParquet(path) ? pl.readParquet(path) : pl.readCSV(path, csvOptions));
const scan = (path) => (isParquet(path) ? pl.scanParquet(path) : pl.scanCSV(path, csvOptions));

async function startup() {
  return pl.DataFrame({ a: [1] }).select(pl.col('a').sum()).height - 1;
}

async function build(input, outDir) {
  mkdirSync(join(outDir, 'all'), { recursive: true });
  const out = join(outDir, 'all', 'part-0.parquet');
  // The streaming sink never holds the whole table in memory, like mldata's chunked pipeline.
  await scan(input).sinkParquet(out, { compression: 'zstd' }).collect();
  const n = await pl.scanParquet(out).select(pl.len()).collect();
  return n.getColumn('len').get(0);
}

async function split(input, outDir) {
  const df = read(input);
  // hash() is Polars' own 64-bit hash (fixed default seeds); see lib.mjs for the split rule.
  const bucket = pl.col('id').hash().cast(pl.Float64).div(2 ** 64);
  let label = pl.when(bucket.lt(splits[0].upTo)).then(pl.lit(splits[0].name));
  for (const s of splits.slice(1, -1)) label = label.when(bucket.lt(s.upTo)).then(pl.lit(s.name));
  label = label.otherwise(pl.lit(splits.at(-1).name)).alias('__split');
  // partitionBy splits in one pass; the key column is dropped so files keep the input schema.
  const parts = df.withColumns(label).partitionBy('__split', false, true);
  for (const part of parts) {
    const name = part.getColumn('__split').get(0);
    mkdirSync(join(outDir, name), { recursive: true });
    part.drop('__split').writeParquet(join(outDir, name, 'part-0.parquet'), { compression: 'snappy' });
  }
  return df.height;
}

const isNumeric = (dtype) => /^(Int|UInt|Float|Decimal)/.test(dtype.variant);

// binExpr counts the interior edges <= v: left-closed bins with open outer bins, evaluated
// exactly as the mldata design defines them.
function binExpr(col, edges) {
  return edges
    .map((e) => pl.col(col).gtEq(pl.lit(e)).cast(pl.UInt32))
    .reduce((a, b) => a.add(b), pl.lit(0).cast(pl.UInt32))
    .alias('bin');
}

// binCounts returns the number of non-null values of col in each of driftBins bins.
async function binCounts(df, col, edges) {
  const counts = new Array(edges.length + 1).fill(0);
  const g = await df.lazy().filter(pl.col(col).isNotNull()).select(binExpr(col, edges))
    .groupBy('bin').agg(pl.len().alias('n')).collect();
  const bins = g.getColumn('bin').toArray();
  const ns = g.getColumn('n').toArray();
  bins.forEach((b, i) => { counts[b] = Number(ns[i]); });
  return counts;
}

async function profile(input, outPath) {
  const df = read(input);
  const names = df.columns;
  const numeric = names.filter((c) => isNumeric(df.getColumn(c).dtype));
  const other = names.filter((c) => !numeric.includes(c));

  // describe() gives mean, std, min, max and median; the exact quantiles, distinct counts
  // (nulls excluded, as mldata defines them) and null counts come from one select.
  const desc = df.describe();
  const stat = (name, col) => {
    const row = desc.getColumn('describe').toArray().indexOf(name);
    const v = desc.getColumn(col).get(row);
    return v == null ? null : Number(v);
  };
  const exprs = [];
  for (const c of names) {
    exprs.push(pl.col(c).dropNulls().nUnique().alias(`u_${c}`));
    exprs.push(pl.col(c).nullCount().alias(`n_${c}`));
  }
  for (const c of numeric) {
    for (const q of [25, 50, 75]) exprs.push(pl.col(c).quantile(q / 100, 'linear').alias(`q${q}_${c}`));
  }
  const [ex] = df.select(...exprs).toRecords();
  const exv = (k) => Number(ex[k]);

  const statistics = {};
  const histograms = {};
  for (const c of numeric) {
    const count = df.height - exv(`n_${c}`);
    statistics[c] = {
      count, mean: stat('mean', c), std: count < 2 ? null : stat('std', c),
      min: stat('min', c), max: stat('max', c),
      percentiles: count === 0 ? null : { 25: exv(`q25_${c}`), 50: exv(`q50_${c}`), 75: exv(`q75_${c}`) },
    };
    if (count > 0) {
      const edges = uniformEdges(statistics[c].min, statistics[c].max);
      histograms[c] = { edges, counts: await binCounts(df, c, edges) };
    }
  }

  const distributions = {};
  for (const c of other) {
    const vc = await df.lazy().select(pl.col(c).cast(pl.Utf8).alias('value')).filter(pl.col('value').isNotNull())
      .groupBy('value').agg(pl.len().alias('n'))
      .sort(['n', 'value'], [true, false]).head(topK).collect();
    const values = vc.getColumn('value').toArray();
    const ns = vc.getColumn('n').toArray();
    distributions[c] = Object.fromEntries(values.map((v, i) => [v, Number(ns[i])]));
  }

  writeJSON(outPath, {
    path: input,
    num_rows: df.height,
    num_columns: names.length,
    schema: {
      columns: names.map((c) => ({
        name: c, dtype: String(df.getColumn(c).dtype), nullable: exv(`n_${c}`) > 0,
        unique_count: exv(`u_${c}`), null_count: exv(`n_${c}`),
      })),
    },
    statistics, distributions, histograms,
  });
  return df.height;
}

// psi sums (q′ − p′)·ln(q′/p′) over a frame of baseline and current counts, in Polars
// expressions, with zero shares replaced by epsilon.
function psi(counts) {
  const share = (c) => pl.col(c).div(pl.col(c).sum());
  const eps = (e) => pl.when(e.eq(0)).then(pl.lit(epsilon)).otherwise(e);
  const p = eps(share('bn'));
  const q = eps(share('qn'));
  return counts.select(q.sub(p).mul(q.div(p).log()).sum().alias('psi')).getColumn('psi').get(0);
}

async function drift(basePath, curPath, outPath) {
  const cols = [...driftNumeric, ...driftCategorical];
  // Projection pushdown: only the drift columns are parsed.
  const base = await scan(basePath).select(...cols).collect();
  const cur = await scan(curPath).select(...cols).collect();

  const numeric_drift = {};
  for (const c of driftNumeric) {
    const lim = base.select(pl.col(c).min().alias('lo'), pl.col(c).max().alias('hi')).row(0);
    const edges = uniformEdges(Number(lim[0]), Number(lim[1]));
    const bn = await binCounts(base, c, edges);
    const qn = await binCounts(cur, c, edges);
    const value = psi(pl.DataFrame({ bn, qn }).withColumns(pl.col('bn').cast(pl.Float64), pl.col('qn').cast(pl.Float64)));
    numeric_drift[c] = {
      psi: value, drift_detected: value >= psiThreshold, severity: severity(value),
      edges, baseline_counts: bn, current_counts: qn,
    };
  }

  const categorical_drift = {};
  for (const c of driftCategorical) {
    const count = (df, name) => df.lazy().filter(pl.col(c).isNotNull()).groupBy(c).agg(pl.len().cast(pl.Float64).alias(name));
    const joined = await count(base, 'bn').join(count(cur, 'qn'), { on: c, how: 'full', coalesce: true })
      .select(pl.col('bn').fillNull(0), pl.col('qn').fillNull(0)).collect();
    const value = psi(joined);
    categorical_drift[c] = { psi: value, drift_detected: value >= psiThreshold, severity: severity(value) };
  }

  const all = [...Object.values(numeric_drift), ...Object.values(categorical_drift)];
  writeJSON(outPath, {
    timestamp: new Date().toISOString(),
    conventions: `uniform ${driftBins} bins over baseline min/max, open outer bins, left-closed; epsilon ${epsilon}`,
    numeric_drift, categorical_drift, has_drift: all.some((d) => d.drift_detected),
  });
  return base.height + cur.height;
}

main('polars', { startup, build, split, profile, drift });
