/**
 * A small benchmark harness: warms up, then times batches of an async operation and reports the
 * median ns per operation over several rounds. Results are printed, never asserted.
 */
import { performance } from 'node:perf_hooks';

export interface BenchResult {
  name: string;
  nsPerOp: number;
  /** Ratio to the row named as baseline in the same table, when given. */
  ratio?: number;
  note?: string;
}

export interface MeasureOptions {
  /** Operations per round. @default 200000 */
  iterations?: number;
  /** Rounds; the median is reported. @default 5 */
  rounds?: number;
}

/** Median ns/op of `op` (awaited one after another). */
export async function measure(op: () => unknown, options: MeasureOptions = {}): Promise<number> {
  const iterations = options.iterations ?? 200_000;
  const rounds = options.rounds ?? 5;
  for (let i = 0; i < Math.min(iterations, 20_000); i++) await op();
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) await op();
    samples.push(((performance.now() - start) * 1e6) / iterations);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

/** Adds `ratio` to every row against the row called `baseline`. */
export function withRatios(rows: BenchResult[], baseline: string): BenchResult[] {
  const base = rows.find((r) => r.name === baseline)?.nsPerOp;
  return rows.map((r) => ({ ...r, ratio: base ? r.nsPerOp / base : undefined }));
}

/** Prints a Markdown table, ready to paste into docs/benchmarks.md. */
export function printTable(title: string, rows: BenchResult[]): void {
  console.log(`\n### ${title}\n`);
  console.log('| case | ns/op | x bare | note |');
  console.log('| --- | ---: | ---: | --- |');
  for (const r of rows) {
    const ratio = r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`;
    console.log(`| ${r.name} | ${r.nsPerOp.toFixed(1)} | ${ratio} | ${r.note ?? ''} |`);
  }
}
