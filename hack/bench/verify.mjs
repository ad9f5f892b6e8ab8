// verify.mjs checks the output of one benchmark run, whichever tool produced it, so that a fast
// tool that wrote the wrong thing does not win. It prints one line of findings and exits 1 when
// the output is wrong.
//
//   node verify.mjs parquet DIR ROWS SPLITS   SPLITS like all=1 or train=0.8,validation=0.1,test=0.1
//   node verify.mjs profile FILE ROWS
//   node verify.mjs drift   FILE ROWS         ROWS rows in each of the baseline and current files
//
// Parquet files are read with DuckDB; rows belong to a split when a directory on their path is
// named <split> or split=<split> (mldata's builds/<id>/<split>/, Polars' <split>/, DuckDB's hive
// partitions); when a builds/ directory exists only files under it count, so mldata's cache of
// per-source outputs is not counted twice.

import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { threads } from './lib.mjs';

// The columns every dataset output must keep, in the generator's order.
const columns = [
  'id', 'user_id', 'amount', 'score', 'country', 'session', 'is_active', 'ts', 'note', 'product',
  'quantity', 'latency_ms',
];

class Failure extends Error {}

function fail(msg) {
  throw new Failure(msg);
}

const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;

function parseSplits(spec) {
  const out = {};
  for (const part of spec.split(',')) {
    const [name, frac] = part.split('=');
    const f = Number(frac);
    if (!name || !(f > 0 && f <= 1)) fail(`bad split spec ${JSON.stringify(spec)}`);
    out[name] = f;
  }
  return out;
}

async function verifyParquet(dir, rows, spec) {
  const want = parseSplits(spec);
  const files = {};
  let found = readdirSync(dir, { recursive: true }).filter((rel) => rel.endsWith('.parquet'));
  // mldata keeps the published dataset under builds/<id>/ beside its per-source cache; the
  // output directory is fresh for every run, so builds/ holds exactly one build.
  const inBuilds = found.filter((rel) => rel.split(sep).includes('builds'));
  if (inBuilds.length) found = inBuilds;
  for (const rel of found) {
    const parts = rel.split(sep).slice(0, -1);
    const split = Object.keys(want).find((s) => parts.includes(s) || parts.includes(`split=${s}`));
    if (split) (files[split] ??= []).push(join(dir, rel));
  }
  const conn = await (await DuckDBInstance.create(':memory:', { threads: String(threads) })).connect();
  const q = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS();
  const counts = {};
  let total = 0;
  for (const s of Object.keys(want)) {
    if (!files[s]) fail(`no parquet files for split ${s} under ${dir}`);
    const [r] = await q(`SELECT count(*) AS n FROM read_parquet([${files[s].map(lit).join(', ')}], union_by_name = true)`);
    counts[s] = Number(r.n);
    total += counts[s];
  }
  if (total !== rows) fail(`${total} rows across splits, want ${rows}`);
  const all = Object.values(files).flat().map(lit).join(', ');
  const names = (await q(`DESCRIBE SELECT * FROM read_parquet([${all}], union_by_name = true)`)).map((r) => r.column_name);
  const missing = columns.filter((c) => !names.includes(c));
  if (missing.length) fail(`columns ${missing.join(', ')} missing (have ${names.join(', ')})`);
  const [{ u }] = await q(`SELECT count(DISTINCT id) AS u FROM read_parquet([${all}], union_by_name = true)`);
  if (Number(u) !== rows) fail(`${u} distinct ids, want ${rows}: rows were duplicated or lost`);
  // A hash split's shares have a standard deviation of sqrt(f(1-f)/n); 0.01 is over 10 of them
  // at 100k rows, so only a wrong split fails.
  const tol = rows >= 10000 ? 0.01 : 0.05;
  for (const [s, f] of Object.entries(want)) {
    const share = counts[s] / rows;
    if (Math.abs(share - f) > tol) fail(`split ${s} holds ${(share * 100).toFixed(2)}% of rows, want ${f * 100}%`);
  }
  return Object.entries(counts).map(([s, n]) => `${s}=${n}`).join(' ');
}

function readReport(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return fail(`read ${file}: ${err.message}`);
  }
}

function verifyProfile(file, rows) {
  const p = readReport(file);
  if (p.num_rows !== rows) fail(`num_rows = ${p.num_rows}, want ${rows}`);
  if (p.num_columns !== columns.length) fail(`num_columns = ${p.num_columns}, want ${columns.length}`);
  const mean = p.statistics?.amount?.mean;
  if (typeof mean !== 'number') fail('statistics.amount.mean missing');
  const us = p.distributions?.country?.US;
  return `num_rows=${p.num_rows} amount.mean=${mean.toFixed(4)} country.US=${us}`;
}

function verifyDrift(file, rows) {
  const d = readReport(file);
  const sum = (a) => (Array.isArray(a) ? a.reduce((x, y) => x + y, 0) : NaN);
  // score has no nulls, so its binned counts must cover every row of each file.
  const score = d.numeric_drift?.score;
  if (sum(score?.baseline_counts) !== rows) fail(`score baseline_counts sum to ${sum(score?.baseline_counts)}, want ${rows}`);
  if (sum(score?.current_counts) !== rows) fail(`score current_counts sum to ${sum(score?.current_counts)}, want ${rows}`);
  const psi = {
    amount: d.numeric_drift?.amount?.psi, score: score?.psi, latency_ms: d.numeric_drift?.latency_ms?.psi,
    country: d.categorical_drift?.country?.psi, product: d.categorical_drift?.product?.psi,
  };
  for (const [c, v] of Object.entries(psi)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`PSI of ${c} missing`);
  }
  return Object.entries(psi).map(([c, v]) => `psi.${c}=${v.toFixed(6)}`).join(' ');
}

const [kind, path, rowsArg, spec] = process.argv.slice(2);
const rows = Number(rowsArg);
const run = {
  parquet: () => verifyParquet(path, rows, spec ?? ''),
  profile: () => verifyProfile(path, rows),
  drift: () => verifyDrift(path, rows),
}[kind];
if (!run || !path || !Number.isInteger(rows)) {
  process.stderr.write('usage: node verify.mjs parquet DIR ROWS SPLITS | profile FILE ROWS | drift FILE ROWS\n');
  process.exit(2);
}
try {
  process.stdout.write(`ok: ${await run()}\n`);
} catch (err) {
  process.stdout.write(`FAILED: ${err instanceof Failure ? err.message : err?.stack ?? err}\n`);
  process.exit(1);
}
