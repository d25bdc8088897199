/** Small load tools: wrk runs, a closed-loop and a constant-rate client, percentiles. */

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function wrk(url: string, script: string, seconds: number, connections = 64) {
  const proc = Bun.spawn(["wrk", "-t2", `-c${connections}`, `-d${seconds}s`, "--latency", "-s", script, url], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p99 = toMs(/99%\s+([\d.]+\w+)/.exec(out)?.[1]);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  const requests = Number(/(\d+) requests in /.exec(out)?.[1] ?? NaN);
  const socketErrors = /Socket errors: (.*)/.exec(out)?.[1];
  return { rps, p99, requests, non2xx: Number(errors ?? 0), socketErrors, raw: out };
}

function toMs(value: string | undefined): number {
  if (!value) return NaN;
  const n = parseFloat(value);
  if (value.endsWith("us")) return n / 1000;
  if (value.endsWith("ms")) return n;
  if (value.endsWith("s")) return n * 1000;
  return n;
}

/** `concurrency` loops calling `send` until `total` calls are done; returns sorted latencies (ms). */
export async function closedLoop(total: number, concurrency: number, send: (i: number) => Promise<unknown>) {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const started = performance.now();
        await send(i);
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies.sort((a, b) => a - b);
}

/** Sends at a fixed rate (open loop) for `seconds`; returns sorted latencies and the rate achieved. */
export async function constantRate(rate: number, seconds: number, send: (i: number) => Promise<unknown>) {
  const latencies: number[] = [];
  const inflight: Promise<void>[] = [];
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (sent < due) {
      const i = sent++;
      const t0 = performance.now();
      inflight.push(send(i).then(() => void latencies.push(performance.now() - t0)));
    }
    await Bun.sleep(1);
  }
  await Promise.all(inflight);
  return { latencies: latencies.sort((a, b) => a - b), achieved: sent / seconds };
}
