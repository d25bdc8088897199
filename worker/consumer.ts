/**
 * A generic Redis Streams consumer-group reader. It knows nothing of chats: it reads batches (its own
 * pending entries first, then new ones), hands them to a sink, acknowledges only after the sink
 * committed, claims entries of consumers that died, dead-letters entries that keep failing, trims
 * what every group has acknowledged, and stops cleanly: after stop() it reads nothing more (a
 * blocked read is cut short with CLIENT UNBLOCK) and keeps retrying what it holds until it is
 * acknowledged, or until stopTimeoutMs has passed (then it is left pending for another worker).
 * A batch's acknowledgement (and the sink's follow-up, if any) overlaps the next batch's work.
 */
import { Cluster } from "ioredis";
import type { RedisClient } from "../core/redis/client.ts";
import { execAll } from "../core/redis/client.ts";
import type { Logger } from "../core/log.ts";
import { compareStreamIds as compareIds } from "../core/events.ts";

export type Entry = { stream: string; id: string; fields: string[] };

export type FollowUp = () => Promise<void>;

export type Sink<T> = {
  name: string;
  group: string;
  /**
   * Applies a batch; must be idempotent (an entry can be delivered again after a crash). May return
   * a follow-up (clean-up once the batch is committed) that the consumer runs before acknowledging
   * the batch, while the next batch is applied; when it fails, the batch is applied again.
   */
  handle(items: T[]): Promise<FollowUp | void>;
  /** True for outages (retry the same batch forever, with backoff), false for bad data. */
  isTransient(error: unknown): boolean;
};

export type ConsumerOptions<T> = {
  redis: RedisClient;
  /** A connection of its own: XREADGROUP BLOCK holds it for up to blockMs. */
  blocking: RedisClient;
  streams: string[];
  /** Every group that reads these streams: trimming keeps what any of them still needs. */
  allGroups: string[];
  consumer: string;
  deadLetter: string;
  batchSize: number;
  blockMs: number;
  claimIdleMs: number;
  maxDeliveries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  trimIntervalMs: number;
  stopTimeoutMs: number;
  log: Logger;
  /** Parses an entry; a throw sends the entry straight to the dead-letter stream. */
  decode(entry: Entry): T;
  sink: Sink<T>;
  /**
   * REDIS_WAIT_REPLICAS: a batch is handed to the sink only once that many replicas hold its entries.
   * Else a failover could promote a replica that never had an entry the sink already persisted: a
   * write answered 503 (retried under its Idempotency-Key as a new message) would then exist twice.
   */
  replicas?: { count: number; timeoutMs: number; mark: (stream: string) => string };
};

type Raw = [string, [string, string[]][]][] | null;

export class StreamConsumer<T> {
  private stopping = false;
  private stopDeadline = Infinity;
  private failures = 0;
  private readOwnPending = true;
  private lastClaim = 0;
  private lastTrim = 0;
  private claimCursors = new Map<string, string>();
  private attempts = new Map<string, number>();
  /** Entries read and not yet acknowledged or dead-lettered. */
  private inHand: Entry[] = [];
  /** When the entries in hand were read, or last claimed again while their batch was retried. */
  private heldSince = 0;
  private blockedRead: Promise<unknown> | undefined;
  /** The next batch, read while the sink applies a full one (a backlog): reading and decoding it overlap the sink's writes. */
  private ahead: Promise<Entry[] | { failed: unknown }> | undefined;
  private blockingId: number | undefined;
  private stopped: Promise<void> | undefined;
  /**
   * The last applied batch's follow-up and acknowledgement, running while the next batch is applied
   * (the sink's servers and this process then work at the same time). Resolves to the entries to
   * apply again: none, or that batch when either step failed (they are still pending here).
   */
  private settling: Promise<Entry[]> | undefined;

  constructor(private readonly o: ConsumerOptions<T>) {
    // A new connection has a new client id (CLIENT UNBLOCK needs the current one).
    o.blocking.on("ready", () => (this.blockingId = undefined));
  }

  start(): Promise<void> {
    this.stopped ??= this.loop();
    return this.stopped;
  }

  /** Reads nothing more, finishes and acknowledges what it holds, and resolves when the loop has ended. */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.stopDeadline = Date.now() + this.o.stopTimeoutMs;
      void this.unblock();
    }
    return this.stopped ?? Promise.resolve();
  }

  private async loop(): Promise<void> {
    const { log, sink } = this.o;
    log.info("consumer started", { group: sink.group, streams: this.o.streams.length });
    for (;;) {
      try {
        if (this.inHand.length) {
          if (this.stopping && Date.now() >= this.stopDeadline) {
            log.warn("stopped with entries unacknowledged; another worker will claim them", { group: sink.group, count: this.inHand.length });
            break;
          }
          await this.keepHold();
          this.inHand = await this.process(this.inHand);
          await this.takeAhead();
          continue;
        }
        // Nothing in hand to overlap with: the last batch's acknowledgement is waited for here.
        const again = await this.takeSettling();
        if (again.length) {
          this.inHand = again;
          this.heldSince = Date.now();
          continue;
        }
        if (this.stopping) break;
        this.inHand = await this.next();
        this.heldSince = Date.now();
        if (!this.inHand.length && Date.now() - this.lastTrim >= this.o.trimIntervalMs) await this.trim();
      } catch (error) {
        if (String((error as Error)?.message).includes("NOGROUP")) {
          await this.createGroups().catch(() => {});
          continue;
        }
        log.warn("consumer loop error", { group: sink.group, err: error });
        await this.backoff();
      }
    }
    // Stopped at the deadline with a batch still settling: its acknowledgement is let finish.
    await this.settling;
    log.info("consumer stopped", { group: sink.group });
  }

  private async next(): Promise<Entry[]> {
    if (this.readOwnPending) {
      const own = await this.read("0", false);
      if (own.length) return own;
      this.readOwnPending = false;
    }
    if (Date.now() - this.lastClaim >= this.o.claimIdleMs / 2) {
      this.lastClaim = Date.now();
      const claimed = await this.claim();
      if (claimed.length) return claimed;
    }
    return this.read(">", true);
  }

  /**
   * What was read ahead joins the entries in hand (after a failed batch, it is retried with them). A
   * read ahead that failed may have left entries pending here: they are read first.
   */
  private async takeAhead(): Promise<void> {
    const ahead = this.ahead;
    if (!ahead) return;
    this.ahead = undefined;
    const more = await ahead;
    if (!Array.isArray(more)) {
      this.o.log.warn("read ahead failed", { group: this.o.sink.group, err: more.failed });
      this.readOwnPending = true;
      return;
    }
    if (!more.length) return;
    if (!this.inHand.length) this.heldSince = Date.now();
    this.inHand = this.inHand.concat(more);
  }

  private async read(id: string, block: boolean): Promise<Entry[]> {
    const { streams, sink, consumer, batchSize, blockMs, log } = this.o;
    const args: (string | number)[] = ["GROUP", sink.group, consumer, "COUNT", batchSize];
    if (block) args.push("BLOCK", blockMs);
    args.push("STREAMS", ...streams, ...streams.map(() => id));
    const conn = block ? this.o.blocking : this.o.redis;
    if (block && !(conn instanceof Cluster)) this.blockingId ??= Number(await conn.client("ID"));
    // Checked right before the read is sent, in the same tick: after stop() nothing is read.
    if (this.stopping) return [];
    log.debug("reading", { group: sink.group, from: id });
    let timer: Timer | undefined;
    // A client-side limit too: a connection that silently died would otherwise block forever.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        conn.disconnect(true);
        reject(new Error("XREADGROUP timed out"));
      }, blockMs + 5000);
    });
    const reading = (conn as any).xreadgroup(...args) as Promise<Raw>;
    if (block) this.blockedRead = reading.catch(() => {});
    try {
      return flatten((await Promise.race([reading, timeout])) as Raw);
    } finally {
      clearTimeout(timer);
      if (block) this.blockedRead = undefined;
    }
  }

  /**
   * Cuts a blocked read short: Redis answers it as a timeout and delivers nothing to it. Repeated
   * until the read has returned, in case the read reaches Redis after the first UNBLOCK.
   */
  private async unblock(): Promise<void> {
    // A cluster client's CLIENT ID names some node, not the one blocked: there the read ends within blockMs.
    if (this.o.blocking instanceof Cluster) return;
    while (this.blockedRead) {
      if (this.blockingId !== undefined) await this.o.redis.client("UNBLOCK", this.blockingId).catch(() => {});
      await Promise.race([this.blockedRead, Bun.sleep(20)]);
    }
  }

  /** Takes over entries that another consumer read but did not acknowledge within claimIdleMs. */
  private async claim(): Promise<Entry[]> {
    const { redis, streams, sink, consumer, claimIdleMs, batchSize } = this.o;
    const out: Entry[] = [];
    for (const stream of streams) {
      if (this.stopping) break;
      const cursor = this.claimCursors.get(stream) ?? "0-0";
      const [next, claimed] = (await redis.xautoclaim(stream, sink.group, consumer, claimIdleMs, cursor, "COUNT", batchSize)) as [string, [string, string[] | null][]];
      this.claimCursors.set(stream, next);
      const live = claimed.filter(([, fields]) => fields !== null) as [string, string[]][];
      if (!live.length) continue;
      // A claimed entry that was delivered too often (it may crash its consumers) is dead-lettered.
      const pending = (await redis.xpending(stream, sink.group, live[0]![0], live[live.length - 1]![0], live.length, consumer)) as [string, string, number, number][];
      const deliveries = new Map(pending.map(([id, , , count]) => [id, count]));
      for (const [id, fields] of live) {
        const entry = { stream, id, fields };
        if ((deliveries.get(id) ?? 0) > this.o.maxDeliveries) await this.deadLetter(entry, "delivered too many times");
        else out.push(entry);
      }
      if (out.length) this.o.log.info("claimed entries of an idle consumer", { group: sink.group, stream, count: out.length });
    }
    return out;
  }

  /**
   * While a batch is retried (a sink or the replicas are down), its entries are claimed again now and
   * then with JUSTID: that resets their idle time without counting a delivery. Otherwise another
   * worker would take them over after claimIdleMs, and each takeover counts one; after an outage
   * longer than a few of those, healthy entries would be dead-lettered as if they were poison.
   */
  private async keepHold(): Promise<void> {
    const { redis, sink, consumer, claimIdleMs } = this.o;
    if (Date.now() - this.heldSince < claimIdleMs / 3) return;
    for (const stream of new Set(this.inHand.map((e) => e.stream))) {
      const ids = this.inHand.filter((e) => e.stream === stream).map((e) => e.id);
      await redis.call("XCLAIM", stream, sink.group, consumer, 0, ...ids, "JUSTID");
    }
    this.heldSince = Date.now();
  }

  /** Applies a batch; returns the entries still to retry (none once it was acknowledged). */
  private async process(entries: Entry[]): Promise<Entry[]> {
    if (this.o.replicas?.count) {
      const confirmed = await this.onReplicas(entries);
      if (!confirmed) {
        await this.backoff();
        return entries;
      }
      entries = confirmed;
    }
    const items: T[] = [];
    const good: Entry[] = [];
    for (const entry of entries) {
      try {
        items.push(this.o.decode(entry));
        good.push(entry);
      } catch (error) {
        await this.deadLetter(entry, `malformed: ${(error as Error).message}`);
      }
    }
    if (!good.length) return [];
    // A full batch means more is waiting: read it now. Never while stopping, nor while a batch is
    // being retried (the entries in hand would grow by a batch per retry), nor under
    // REDIS_WAIT_REPLICAS, whose check is made per batch before the sink sees it.
    if (entries.length >= this.o.batchSize && !this.ahead && !this.stopping && this.failures === 0 && !this.o.replicas?.count) {
      // Settled at once, so that its failure is never an unhandled rejection while the sink works.
      this.ahead = this.read(">", false).catch((failed: unknown) => ({ failed }));
    }
    try {
      const followUp = await this.o.sink.handle(items);
      // Entries counted as failing (a batch split to find a bad one) are forgotten once applied.
      if (this.attempts.size) for (const e of good) this.attempts.delete(e.id);
      // At most one batch settles at a time: the previous one first (a failed one is applied again).
      const again = await this.takeSettling();
      this.settling = this.settle(good, followUp);
      return again;
    } catch (error) {
      if (this.o.sink.isTransient(error)) {
        this.o.log.warn("sink unavailable, retrying", { group: this.o.sink.group, err: error, failures: this.failures });
        await this.backoff();
        return good;
      }
      if (good.length > 1) {
        // Find the bad entry: apply the batch one entry at a time.
        const left: Entry[] = [];
        for (const entry of good) left.push(...(await this.process([entry])));
        return left;
      }
      const entry = good[0]!;
      const attempts = (this.attempts.get(entry.id) ?? 0) + 1;
      this.attempts.set(entry.id, attempts);
      this.o.log.warn("entry failed", { group: this.o.sink.group, id: entry.id, attempts, err: error });
      if (attempts >= this.o.maxDeliveries) {
        this.attempts.delete(entry.id);
        await this.deadLetter(entry, (error as Error)?.message ?? String(error));
        return [];
      }
      await this.backoff();
      return [entry];
    }
  }

  /** Runs a committed batch's follow-up, then acknowledges it; resolves to the batch when either failed. */
  private async settle(entries: Entry[], followUp: FollowUp | void): Promise<Entry[]> {
    try {
      if (followUp) await followUp();
      await this.ack(entries);
      this.failures = 0;
      return [];
    } catch (error) {
      this.o.log.warn("could not settle a committed batch; applying it again", { group: this.o.sink.group, err: error, failures: this.failures });
      return entries;
    }
  }

  /** Waits for the batch settling, if any; after a failure, backs off and returns its entries. */
  private async takeSettling(): Promise<Entry[]> {
    const settling = this.settling;
    if (!settling) return [];
    this.settling = undefined;
    const again = await settling;
    if (again.length) await this.backoff();
    return again;
  }

  /**
   * The batch's entries once the replicas REDIS_WAIT_REPLICAS asks for hold them (undefined while
   * they do not). WAIT counts this connection's own writes, so a write to the stream's slot comes
   * first: the replication stream is ordered, and the entries were written before it.
   */
  private async onReplicas(entries: Entry[]): Promise<Entry[] | undefined> {
    const { replicas, redis, log, sink, consumer } = this.o;
    if (!replicas?.count) return entries;
    let short = 0;
    const gone = new Set<string>();
    for (const stream of new Set(entries.map((e) => e.stream))) {
      const ids = entries.filter((e) => e.stream === stream).map((e) => e.id);
      const pipeline = redis.pipeline().set(replicas.mark(stream), ids.at(-1)!, "PX", 86_400_000).wait(replicas.count, replicas.timeoutMs)
        .xpending(stream, sink.group, ids[0]!, ids.at(-1)!, ids.length, consumer);
      const [, confirmed, mine] = (await execAll(pipeline)) as [unknown, number, [string, ...unknown[]][]];
      if (Number(confirmed) < replicas.count) short = Math.max(short, replicas.count - Number(confirmed));
      // Read from a master that has failed over since: the node now serving the slot may never have
      // had them (written, refused as unreplicated, lost with their master). Such entries are dropped.
      const held = new Set(mine.map(([id]) => id));
      for (const id of ids) if (!held.has(id)) gone.add(`${stream}|${id}`);
    }
    if (short) {
      log.warn("entries not yet on enough replicas; holding the batch", { group: sink.group, count: entries.length, missing: short });
      return undefined;
    }
    if (gone.size) log.warn("entries in hand are no longer pending here (a failover); dropped", { group: sink.group, count: gone.size });
    return entries.filter((e) => !gone.has(`${e.stream}|${e.id}`));
  }

  private async ack(entries: Entry[]): Promise<void> {
    const byStream = new Map<string, string[]>();
    for (const e of entries) {
      const ids = byStream.get(e.stream) ?? [];
      ids.push(e.id);
      byStream.set(e.stream, ids);
    }
    const pipeline = this.o.redis.pipeline();
    for (const [stream, ids] of byStream) pipeline.xack(stream, this.o.sink.group, ...ids);
    await execAll(pipeline);
  }

  private async deadLetter(entry: Entry, reason: string): Promise<void> {
    const { redis, deadLetter, sink } = this.o;
    await redis.xadd(deadLetter, "*", "stream", entry.stream, "entry", entry.id, "group", sink.group, "reason", reason.slice(0, 500), "fields", JSON.stringify(entry.fields));
    await redis.xack(entry.stream, sink.group, entry.id);
    this.o.log.error("entry dead-lettered", { group: sink.group, stream: entry.stream, id: entry.id, reason: reason.slice(0, 200) });
  }

  /** Removes entries that every group has acknowledged, never one still pending or unread. */
  private async trim(): Promise<void> {
    this.lastTrim = Date.now();
    for (const stream of this.o.streams) {
      const min = await safeTrimPoint(this.o.redis, stream, this.o.allGroups);
      if (min) await this.o.redis.xtrim(stream, "MINID", min);
    }
  }

  private async createGroups(): Promise<void> {
    for (const stream of this.o.streams) {
      for (const group of this.o.allGroups) {
        await this.o.redis.xgroup("CREATE", stream, group, "0", "MKSTREAM").catch((e: Error) => {
          if (!e.message.includes("BUSYGROUP")) throw e;
        });
      }
    }
  }

  /** Waits before a retry; a stopping consumer never waits past its deadline. */
  private async backoff(): Promise<void> {
    const { retryBaseMs, retryMaxMs } = this.o;
    const delay = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(this.failures++, 20));
    const wait = delay / 2 + Math.random() * (delay / 2);
    await Bun.sleep(Math.max(0, Math.min(wait, this.stopDeadline - Date.now())));
  }
}

function flatten(raw: Raw): Entry[] {
  const out: Entry[] = [];
  for (const [stream, entries] of raw ?? []) for (const [id, fields] of entries) if (fields) out.push({ stream, id, fields });
  return out;
}


/**
 * The lowest id some group may still need: its oldest pending entry, or else the last entry it was
 * delivered. Undefined when a group is missing (it will read from the start).
 */
export async function safeTrimPoint(redis: RedisClient, stream: string, groups: string[]): Promise<string | undefined> {
  const info = (await redis.xinfo("GROUPS", stream)) as unknown[][];
  const byName = new Map<string, Record<string, unknown>>();
  for (const row of info) {
    const record: Record<string, unknown> = {};
    for (let i = 0; i + 1 < row.length; i += 2) record[String(row[i])] = row[i + 1];
    byName.set(String(record.name), record);
  }
  let min: string | undefined;
  for (const group of groups) {
    const record = byName.get(group);
    if (!record) return undefined;
    let point = String(record["last-delivered-id"]);
    if (Number(record.pending) > 0) {
      const summary = (await redis.xpending(stream, group)) as [number, string, string, unknown];
      if (summary[1]) point = summary[1];
    }
    if (point === "0-0") return undefined;
    if (!min || compareIds(point, min) < 0) min = point;
  }
  return min;
}
