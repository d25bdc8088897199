/**
 * Rounds (BENCH_ROUNDS): the scenarios whose figures vary from run to run (wrk throughput, drain
 * rates, CPU per operation) run several times, ours and its baseline back to back in each round,
 * and report the median with the range. Pure helpers, unit-tested.
 */

/** Rounds per varying scenario: BENCH_ROUNDS, default 3, at least 1. */
export function roundsFrom(value: string | undefined): number {
  const rounds = Math.floor(Number(value ?? 3));
  if (!Number.isFinite(rounds) || rounds < 1) throw new Error(`BENCH_ROUNDS must be a whole number ≥ 1, got ${value}`);
  return rounds;
}

/** The numbers among `values` (a process whose CPU could not be read gives NaN). */
const known = (values: number[]) => values.filter((v) => !Number.isNaN(v));

/** Median of the known values (mean of the middle two for an even count); NaN when none is known. */
export function median(values: number[]): number {
  const sorted = known(values).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** [min, max] of the known values; [NaN, NaN] when none is known. */
export function range(values: number[]): [number, number] {
  const k = known(values);
  return k.length ? [Math.min(...k), Math.max(...k)] : [NaN, NaN];
}

/**
 * The order in which round `round` (0-based) runs `items`: rotated by one each round, so that no
 * item always goes first (for two items: alternating).
 */
export function rotated<T>(items: readonly T[], round: number): T[] {
  if (!items.length) return [];
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/**
 * Runs `entrants` in `rounds` rounds, each round in rotated order, and returns each entrant's
 * results in round order (whatever order they ran in within a round).
 */
export async function inRounds<K extends string, R>(rounds: number, entrants: Record<K, () => Promise<R>>, onRound?: (round: number, order: K[]) => void): Promise<Record<K, R[]>> {
  const names = Object.keys(entrants) as K[];
  const results = Object.fromEntries(names.map((n) => [n, [] as R[]])) as Record<K, R[]>;
  for (let round = 0; round < rounds; round++) {
    const order = rotated(names, round);
    onRound?.(round, order);
    for (const name of order) results[name].push(await entrants[name]());
  }
  return results;
}

/**
 * How many of a drain's `items` warm its process up before the measured part (the JIT compiles the
 * paths a batch runs): a fifth, in whole batches of `batch`, when the drain holds at least 20
 * batches; else none (a short drain is measured whole).
 */
export function warmUpCount(items: number, batch: number): number {
  if (items < 20 * batch) return 0;
  return Math.floor(items / 5 / batch) * batch;
}
