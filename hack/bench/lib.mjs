// Shared helpers for the DuckDB and Polars benchmark scripts: argument handling, the thread
// count, and the JSON report shapes (the same field names as mldata's profile and drift
// reports, so that verify.mjs checks every tool's output the same way).

import { availableParallelism } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

// The benchmark gives every tool all cores; MLDATA_BENCH_THREADS overrides for experiments.
export const threads = Number(process.env.MLDATA_BENCH_THREADS) || availableParallelism();

// Split ratios shared by both tools. A row's position in hash space, hash(id) / 2^64 in [0, 1],
// picks its split: train below 0.8, validation below 0.9, test above. This is the same rule as
// mldata's (a fraction of hash space per split); only the 64-bit hash function differs.
// (Integer hash(id) mod N would also do, but nodejs-polars 0.25.2 evaluates u64 modulo in
// float64 and gets it wrong.)
export const splits = [
  { name: 'train', upTo: 0.8 },
  { name: 'validation', upTo: 0.9 },
  { name: 'test', upTo: 1 },
];

// Drift settings, from the mldata design: 10 uniform bins over the baseline min/max with open
// outer bins, and zero shares replaced by epsilon before PSI.
export const driftBins = 10;
export const epsilon = 0.001;
export const psiThreshold = 0.1;
// The columns mldata's drift compares on the benchmark table: every numeric column is binned,
// and every bool or text column with at most 100,000 distinct values is compared by category
// shares. session (one value per row) is skipped by mldata and left out here.
export const driftNumeric = ['id', 'user_id', 'amount', 'score', 'quantity', 'latency_ms'];
export const driftCategorical = ['country', 'is_active', 'note', 'product'];

// Profiles list at most this many values per string column (mldata's top-20).
export const topK = 20;

const usage = {
  startup: 'startup',
  build: 'build IN.csv OUTDIR',
  split: 'split IN.parquet OUTDIR',
  profile: 'profile IN.{csv,parquet} OUT.json',
  drift: 'drift BASE.{csv,parquet} CUR.{csv,parquet} OUT.json',
};

// isParquet tells the input format from the file name, as mldata does.
export const isParquet = (path) => path.endsWith('.parquet');

// parseArgs returns the workload name and its paths, or exits with a usage message.
export function parseArgs(tool, argv) {
  const [workload, ...paths] = argv;
  const want = usage[workload]?.split(' ').length - 1;
  if (want === undefined || Number.isNaN(want) || paths.length !== want) {
    const lines = Object.values(usage).map((u) => `  node ${tool}.mjs ${u}`);
    process.stderr.write(`usage:\n${lines.join('\n')}\n`);
    process.exit(2);
  }
  return { workload, paths };
}

// main runs fn and turns a rejection into a non-zero exit with the message, so run.sh can
// tell a failed tool from a slow one.
export function main(tool, handlers) {
  const { workload, paths } = parseArgs(tool, process.argv.slice(2));
  handlers[workload](...paths).then(
    (rows) => {
      process.stdout.write(`${tool} ${workload}: rows processed: ${rows} (threads ${threads})\n`);
    },
    (err) => {
      process.stderr.write(`${tool} ${workload}: ${err?.stack ?? err}\n`);
      process.exit(1);
    },
  );
}

export function writeJSON(path, value) {
  mkdirSync(dirname(path), { recursive: true });
  // BigInt counts from DuckDB are exact integers well inside 2^53 for these data sizes.
  const text = JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? Number(v) : v), 2);
  writeFileSync(path, `${text}\n`);
}

// uniformEdges returns the interior edges i·((max − min)/bins) + min, i = 1 … bins−1, computed
// with the same float operations as mldata so that values on an edge land in the same bin.
export function uniformEdges(min, max, bins = driftBins) {
  const width = (max - min) / bins;
  const edges = [];
  for (let i = 1; i < bins; i++) edges.push(i * width + min);
  return edges;
}

export function severity(psi) {
  if (psi < 0.05) return 'low';
  if (psi < 0.1) return 'medium';
  return 'high';
}
