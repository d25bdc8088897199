/**
 * Sends the queued webhook deliveries of every stream shard (SPEC §5.7). Each worker claims due
 * deliveries from Redis with a lease (webhooks_claim.lua): a delivery whose worker died is due again
 * when its lease ends, so any worker sends it (at least once, never lost); a failed one is queued
 * again on WEBHOOK_RETRY_SCHEDULE and dead-lettered after the last retry. Deliveries run side by
 * side, at most `concurrency` per worker and `perEndpointConcurrency` per endpoint (one while the
 * endpoint's attempts fail), each bounded by the timeout: a hanging endpoint holds one slot of its
 * own, never the others'.
 */
import type { Pool } from "../../core/db/client.ts";
import type { Config } from "../../core/config.ts";
import type { Keys } from "../../core/keys.ts";
import { groups } from "../../core/keys.ts";
import type { Logger } from "../../core/log.ts";
import type { RedisClient } from "../../core/redis/client.ts";
import type { Scripts } from "../../core/redis/scripts.ts";
import { registeredEndpoints, WEBHOOK_LATENCY_BUCKETS as LATENCY_BUCKETS, type RegisteredEndpoint } from "../../core/webhooks/registry.ts";
import type { DeliveryJob } from "../sinks/webhooks.ts";
import { deliver } from "./deliver.ts";

type Claimed = { endpoint: string; id: string; job: string };
type Registry = Map<string, Promise<RegisteredEndpoint[]>>;
type Options = { redis: RedisClient; scripts: Scripts; pool: Pool; keys: Keys; log: Logger; settings: Config["webhooks"]; stopTimeoutMs: number };

export function webhookDispatcher({ redis, scripts, pool, keys, log, settings, stopTimeoutMs }: Options) {
  const leaseMs = settings.timeoutMs + 5000;
  const inFlight = new Map<string, number>();
  const running = new Set<Promise<void>>();
  let stopping = false;
  /** Endpoints whose last attempt failed here: one delivery at a time until one succeeds (a dead endpoint holds one slot). */
  const failing = new Set<string>();
  /** Shards that may have deliveries due: all at each poll; a shard once its claim came back short drops out until then. */
  const due = new Set<number>();
  const allDue = () => {
    for (let shard = 0; shard < keys.shards; shard++) due.add(shard);
  };
  let wake: (() => void) | undefined;
  // A nudge while the loop is busy (claiming) is kept, so the next idle() returns at once.
  let nudged = false;
  const nudge = () => {
    if (wake) {
      wake();
      wake = undefined;
    } else nudged = true;
  };
  /** Resolves after `ms`, or at a nudge; false when the time ran out (a poll is due). */
  const idle = (ms: number) => new Promise<boolean>((resolve) => {
    if (nudged) {
      nudged = false;
      return resolve(true);
    }
    const timer = setTimeout(() => {
      wake = undefined;
      resolve(false);
    }, ms);
    wake = () => {
      clearTimeout(timer);
      resolve(true);
    };
  });
  const limitOf = (endpoint: string) => (failing.has(endpoint) ? 1 : settings.perEndpointConcurrency);

  async function settle(shard: number, claim: Claimed, outcome: "success" | "failure" | "dead_letter" | "dropped", counters: [string, number][], job?: DeliveryJob, dueAt?: number) {
    await scripts.webhooksSettle({ shard, endpoint: claim.endpoint, id: claim.id, outcome, counters, ...(job ? { job: JSON.stringify(job), dueAt } : {}) });
  }

  async function send(shard: number, claim: Claimed, registry: Registry): Promise<void> {
    const job = JSON.parse(claim.job) as DeliveryJob;
    let endpoints = registry.get(job.t);
    if (!endpoints) registry.set(job.t, (endpoints = registeredEndpoints(pool, scripts, job.t, job.a)));
    const endpoint = (await endpoints).find((e) => e.id === claim.endpoint);
    // Deleted since (or its application): nothing more is delivered to it.
    if (!endpoint) {
      failing.delete(claim.endpoint);
      return settle(shard, claim, "dropped", [["dropped", 1]]);
    }
    const result = await deliver(endpoint, job.m, job.b, { timeoutMs: settings.timeoutMs, allowPrivate: settings.allowPrivateUrls });
    const now = Date.now();
    if (result.ok) failing.delete(endpoint.id);
    else failing.add(endpoint.id);
    if (result.ok) {
      const seconds = (now - job.q) / 1000;
      const buckets = LATENCY_BUCKETS.filter((le) => seconds <= le).map((le): [string, number] => [`latency_le_${le}`, 1]);
      return settle(shard, claim, "success", [["delivered", 1], ["attempts", 1], ["latency_ms_sum", Math.round(now - job.q)], ["latency_count", 1], ...buckets]);
    }
    const failed = { ...job, n: job.n + 1 };
    const delay = settings.retrySchedule[job.n];
    if (delay === undefined) {
      // Dead-lettered first, then settled: a crash in between sends it once more, never loses it.
      await redis.xadd(keys.deadLetter, "*", "stream", keys.webhookDeliveries(shard).jobs, "entry", claim.id, "group", groups.webhooks, "reason", `${result.reason} (after ${failed.n} attempts)`,
        "delivery", JSON.stringify({ shard, endpoint: claim.endpoint, id: claim.id, job: { ...job, n: 0 } }));
      log.warn("webhook delivery dead-lettered", { endpoint: claim.endpoint, id: job.m, attempts: failed.n, reason: result.reason });
      return settle(shard, claim, "dead_letter", [["dead_lettered", 1], ["attempts", 1], ["failed_attempts", 1]]);
    }
    log.info("webhook delivery failed, will retry", { endpoint: claim.endpoint, id: job.m, attempt: failed.n, retry_in_s: delay, reason: result.reason });
    return settle(shard, claim, "failure", [["attempts", 1], ["failed_attempts", 1]], failed, now + delay * 1000);
  }

  function start(shard: number, claim: Claimed, registry: Registry) {
    inFlight.set(claim.endpoint, (inFlight.get(claim.endpoint) ?? 0) + 1);
    const task = send(shard, claim, registry)
      // Not settled (Redis unreachable): the lease ends and the delivery is sent again.
      .catch((error) => log.warn("webhook delivery not settled; it is sent again when its lease ends", { endpoint: claim.endpoint, err: error }))
      .finally(() => {
        const left = (inFlight.get(claim.endpoint) ?? 1) - 1;
        if (left) inFlight.set(claim.endpoint, left);
        else inFlight.delete(claim.endpoint);
        running.delete(task);
        // Its endpoint may have more deliveries due in this shard.
        due.add(shard);
        nudge();
      });
    running.add(task);
  }

  async function loop() {
    allDue();
    while (!stopping) {
      // The endpoints of each application, read once for all the deliveries of one claim round.
      const registry: Registry = new Map();
      try {
        for (const shard of [...due]) {
          const free = settings.concurrency - running.size;
          if (free <= 0 || stopping) break;
          const limits = new Map<string, number>();
          for (const endpoint of failing) limits.set(endpoint, 1);
          for (const [endpoint, n] of inFlight) limits.set(endpoint, Math.max(0, limitOf(endpoint) - n));
          const claims = await scripts.webhooksClaim({ shard, now: Date.now(), leaseMs, max: free, perEndpoint: settings.perEndpointConcurrency, busy: [...limits] });
          for (const claim of claims) start(shard, claim, registry);
          if (claims.length < free) due.delete(shard);
        }
      } catch (error) {
        log.warn("webhook dispatcher: cannot claim deliveries, retrying", { err: error });
        await idle(1000);
        allDue();
        continue;
      }
      if (running.size >= settings.concurrency || !due.size) {
        // Retries fall due and other workers leave deliveries behind without a nudge: look at every shard now and then.
        if (!(await idle(settings.pollMs))) allDue();
      }
    }
  }

  let looping: Promise<void> | undefined;
  return {
    start() {
      looping ??= loop();
    },
    /** New deliveries were queued: look now rather than at the next poll. */
    queued() {
      allDue();
      nudge();
    },
    /** Claims nothing more and waits for the deliveries in flight (at most stopTimeoutMs; the rest are sent again after their lease). */
    async stop() {
      stopping = true;
      nudge();
      await looping;
      await Promise.race([Promise.all(running), Bun.sleep(stopTimeoutMs)]);
    },
  };
}
