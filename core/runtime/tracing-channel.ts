/**
 * Bun (1.4) implements `diagnostics_channel.tracingChannel()` without Node's `hasSubscribers`
 * getter. ioredis 6 traces a command unless `hasSubscribers === false`, so on Bun it traced every
 * command with no one listening: a promise wrapper, four channel publishes and its arguments
 * copied and matched against a list of regexes, about a tenth of a create's API CPU. This adds
 * the getter as Node defines it (true when any of the five channels has a subscriber), so an
 * OpenTelemetry subscriber still gets every command and no subscriber costs nothing.
 */
import dc from "node:diagnostics_channel";

type Traced = Record<"start" | "end" | "asyncStart" | "asyncEnd" | "error", { hasSubscribers: boolean }>;

const prototype = Object.getPrototypeOf(dc.tracingChannel("chat-backend:probe")) as object;
if (!("hasSubscribers" in prototype)) {
  Object.defineProperty(prototype, "hasSubscribers", {
    configurable: true,
    get(this: Traced) {
      return this.start.hasSubscribers || this.end.hasSubscribers || this.asyncStart.hasSubscribers || this.asyncEnd.hasSubscribers || this.error.hasSubscribers;
    },
  });
}
