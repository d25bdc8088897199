import { describe, expect, test } from "bun:test";
import dc from "node:diagnostics_channel";
import "../../core/runtime/tracing-channel.ts";

// ioredis 6 traces a command unless its tracing channel's hasSubscribers is false (core/runtime/tracing-channel.ts).
describe("TracingChannel.hasSubscribers on Bun", () => {
  test("is false with no subscriber, so ioredis skips tracing", () => {
    expect(dc.tracingChannel("test:idle").hasSubscribers).toBe(false);
  });

  test("is true while any of its channels has a subscriber, and false again after", () => {
    const channel = dc.tracingChannel("test:watched");
    const handlers = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
    channel.subscribe(handlers);
    expect(channel.hasSubscribers).toBe(true);
    channel.unsubscribe(handlers);
    expect(channel.hasSubscribers).toBe(false);
    const onlyErrors = { error() {} };
    dc.channel("tracing:test:watched:error").subscribe(onlyErrors.error);
    expect(channel.hasSubscribers).toBe(true);
    dc.channel("tracing:test:watched:error").unsubscribe(onlyErrors.error);
  });
});
