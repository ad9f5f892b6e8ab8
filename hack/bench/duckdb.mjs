// DuckDB implementations of the mldata benchmark workloads. Each workload is what a DuckDB
// user would write for the same job: one SQL pipeline per output, default CSV sniffing,
// all cores. See README.md for how each one compares with mldata.
//
//   node duckdb.mjs startup                       (fixed cost: load DuckDB, run SELECT 1)
//   node duckdb.mjs build   IN.csv OUTDIR         -> OUTDIR/all/part-0.parquet (zstd)
//   node duckdb.mjs split   IN.parquet OUTDIR     -> OUTDIR/split=<name>/*.parquet (snappy)
//   node duckdb.mjs profile IN OUT.json           IN is .csv or .parquet
//   node duckdb.mjs drift   BASE CUR OUT.json     both .csv or both .parquet

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  driftBins, driftCategorical, driftNumeric, epsilon, isParquet, main, psiThreshold, severity,
  splits, threads, topK, writeJSON,
} from './lib.mjs';

// quote makes a SQL string literal, so paths with quotes cannot break the statement.
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
// ident makes a SQL identifier.
const ident = (s) => `"${String(s).replaceAll('"', '""')}"`;
// source reads a file with DuckDB's reader for its format (CSV with the default sniffer).
const source = (path) => (isParquet(path) ? `read_parquet(${lit(path)})` : `read_csv(${lit(path)})`);

async function connect() {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  return instance.connect();
}

async function rows(conn, sql) {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJS();
}

async function startup() {
  const conn = await connect();
  await conn.run('SELECT 1');
  return 0;
}

async function build(input, outDir) {
  const conn = await connect();
  mkdirSync(join(outDir, 'all'), { recursive: true });
  const out = join(outDir, 'all', 'part-0.parquet');
  const [r] = await rows(conn,
    `COPY (SELECT * FROM read_csv(${lit(input)})) TO ${lit(out)} (FORMAT parquet, COMPRESSION zstd)`);
  return r.Count;
}

async function split(input, outDir) {
  const conn = await connect();
  // hash() is DuckDB's own 64-bit hash; see lib.mjs for the split rule.
  const cases = splits.slice(0, -1)
    .map((s) => `WHEN hash(id)::DOUBLE / pow(2, 64) < ${s.upTo} THEN ${lit(s.name)}`).join(' ');
  const last = lit(splits.at(-1).name);
  const [r] = await rows(conn, `
    COPY (SELECT *, CASE ${cases} ELSE ${last} END AS split FROM ${source(input)})
    TO ${lit(outDir)} (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (split), OVERWRITE_OR_IGNORE)`);
  return r.Count;
}

const numericTypes = new Set([
  'TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER',
  'UBIGINT', 'FLOAT', 'DOUBLE',
]);
const isNumeric = (type) => numericTypes.has(type) || type.startsWith('DECIMAL');

// binExpr assigns a bin 0 … bins−1 by counting the interior edges i·w + lo that are <= v,
// which is the left-closed, open-ended binning of the mldata design, evaluated exactly as
// defined rather than by floor((v − lo)/w), which can disagree on an edge.
function binExpr(v, lo = 'lo', w = 'w', bins = driftBins) {
  const terms = [];
  for (let i = 1; i < bins; i++) terms.push(`(${v} >= ${i} * ${w} + ${lo})::INTEGER`);
  return terms.join(' + ');
}

async function profile(input, outPath) {
  const conn = await connect();
  await conn.run(`CREATE TABLE t AS SELECT * FROM ${source(input)}`);
  const summary = await rows(conn, 'SUMMARIZE t');
  const [{ n }] = await rows(conn, 'SELECT count(*) AS n FROM t');
  const numeric = summary.filter((c) => isNumeric(c.column_type)).map((c) => c.column_name);
  const other = summary.filter((c) => !isNumeric(c.column_type)).map((c) => c.column_name);

  // SUMMARIZE's quantiles and distinct counts are approximate; mldata reports exact ones, so
  // they are computed exactly here as well, with the null counts, in one scan.
  const exact = [];
  for (const c of summary.map((s) => s.column_name)) {
    exact.push(`count(DISTINCT ${ident(c)}) AS ${ident(`u_${c}`)}`);
  }
  for (const c of numeric) {
    exact.push(`quantile_cont(${ident(c)}, [0.25, 0.5, 0.75]) AS ${ident(`q_${c}`)}`);
  }
  for (const c of summary.map((s) => s.column_name)) {
    exact.push(`count(*) - count(${ident(c)}) AS ${ident(`n_${c}`)}`);
  }
  const [ex] = await rows(conn, `SELECT ${exact.join(', ')} FROM t`);
  const nullCount = (c) => Number(ex[`n_${c}`]);

  const statistics = {};
  const histograms = {};
  for (const c of numeric) {
    const s = summary.find((x) => x.column_name === c);
    const q = ex[`q_${c}`];
    statistics[c] = {
      count: Number(n) - nullCount(c),
      mean: Number(s.avg), std: s.std == null ? null : Number(s.std),
      min: Number(s.min), max: Number(s.max),
      percentiles: q ? { 25: q[0], 50: q[1], 75: q[2] } : null,
    };
    const h = await rows(conn, `
      WITH lim AS (SELECT min(${ident(c)}) AS lo, (max(${ident(c)}) - min(${ident(c)})) / ${driftBins} AS w FROM t)
      SELECT ${binExpr(ident(c))} AS bin, count(*) AS n FROM t, lim WHERE ${ident(c)} IS NOT NULL
      GROUP BY bin ORDER BY bin`);
    const counts = new Array(driftBins).fill(0);
    for (const r of h) counts[r.bin] = Number(r.n);
    const [{ edges }] = await rows(conn, `
      WITH lim AS (SELECT min(${ident(c)}) AS lo, (max(${ident(c)}) - min(${ident(c)})) / ${driftBins} AS w FROM t)
      SELECT list(i * w + lo ORDER BY i) AS edges FROM lim, range(1, ${driftBins}) e(i)`);
    histograms[c] = { edges: edges.map(Number), counts };
  }

  const distributions = {};
  for (const c of other) {
    const vc = await rows(conn, `
      SELECT ${ident(c)}::VARCHAR AS value, count(*) AS n FROM t WHERE ${ident(c)} IS NOT NULL
      GROUP BY ALL ORDER BY n DESC, value LIMIT ${topK}`);
    distributions[c] = Object.fromEntries(vc.map((r) => [r.value, Number(r.n)]));
  }

  writeJSON(outPath, {
    path: input,
    num_rows: Number(n),
    num_columns: summary.length,
    schema: {
      columns: summary.map((s) => ({
        name: s.column_name, dtype: s.column_type,
        nullable: nullCount(s.column_name) > 0,
        unique_count: Number(ex[`u_${s.column_name}`]), null_count: nullCount(s.column_name),
      })),
    },
    statistics, distributions, histograms,
  });
  return Number(n);
}

async function drift(basePath, curPath, outPath) {
  const conn = await connect();
  const cols = [...driftNumeric, ...driftCategorical].map(ident).join(', ');
  await conn.run(`CREATE TABLE base AS SELECT ${cols} FROM ${source(basePath)}`);
  await conn.run(`CREATE TABLE cur AS SELECT ${cols} FROM ${source(curPath)}`);
  const [{ nb, nc }] = await rows(conn,
    'SELECT (SELECT count(*) FROM base) AS nb, (SELECT count(*) FROM cur) AS nc');

  // psiSQL turns a relation of (p, q) shares into PSI with zero shares replaced by epsilon.
  const psiSQL = (shares) => `
    SELECT sum((qq - pp) * ln(qq / pp)) AS psi FROM (
      SELECT CASE WHEN p = 0 THEN ${epsilon}::DOUBLE ELSE p END AS pp,
             CASE WHEN q = 0 THEN ${epsilon}::DOUBLE ELSE q END AS qq FROM ${shares})`;

  const numeric_drift = {};
  for (const col of driftNumeric) {
    const c = ident(col);
    const [r] = await rows(conn, `
      WITH lim AS (SELECT min(${c}) AS lo, (max(${c}) - min(${c})) / ${driftBins} AS w FROM base),
      b AS (SELECT ${binExpr(c)} AS bin, count(*) AS n FROM base, lim WHERE ${c} IS NOT NULL GROUP BY bin),
      q AS (SELECT ${binExpr(c)} AS bin, count(*) AS n FROM cur, lim WHERE ${c} IS NOT NULL GROUP BY bin),
      counts AS (
        SELECT r.range AS bin, coalesce(b.n, 0) AS bn, coalesce(q.n, 0) AS qn
        FROM range(${driftBins}) r LEFT JOIN b ON b.bin = r.range LEFT JOIN q ON q.bin = r.range),
      shares AS (
        SELECT bn / (SELECT sum(bn) FROM counts) AS p, qn / (SELECT sum(qn) FROM counts) AS q FROM counts)
      SELECT (${psiSQL('shares')}) AS psi,
             (SELECT list(bn ORDER BY bin) FROM counts) AS baseline_counts,
             (SELECT list(qn ORDER BY bin) FROM counts) AS current_counts,
             (SELECT list(i * w + lo ORDER BY i) FROM lim, range(1, ${driftBins}) e(i)) AS edges`);
    numeric_drift[col] = {
      psi: r.psi, drift_detected: r.psi >= psiThreshold, severity: severity(r.psi),
      edges: r.edges, baseline_counts: r.baseline_counts.map(Number), current_counts: r.current_counts.map(Number),
    };
  }

  const categorical_drift = {};
  for (const col of driftCategorical) {
    const c = ident(col);
    const [r] = await rows(conn, `
      WITH b AS (SELECT ${c} AS v, count(*) AS n FROM base WHERE ${c} IS NOT NULL GROUP BY 1),
      q AS (SELECT ${c} AS v, count(*) AS n FROM cur WHERE ${c} IS NOT NULL GROUP BY 1),
      shares AS (
        SELECT coalesce(b.n, 0) / (SELECT sum(n) FROM b) AS p, coalesce(q.n, 0) / (SELECT sum(n) FROM q) AS q
        FROM b FULL OUTER JOIN q ON b.v = q.v)
      ${psiSQL('shares')}`);
    categorical_drift[col] = { psi: r.psi, drift_detected: r.psi >= psiThreshold, severity: severity(r.psi) };
  }

  const all = [...Object.values(numeric_drift), ...Object.values(categorical_drift)];
  writeJSON(outPath, {
    timestamp: new Date().toISOString(),
    conventions: `uniform ${driftBins} bins over baseline min/max, open outer bins, left-closed; epsilon ${epsilon}`,
    numeric_drift, categorical_drift, has_drift: all.some((d) => d.drift_detected),
  });
  return Number(nb) + Number(nc);
}

main('duckdb', { startup, build, split, profile, drift });
