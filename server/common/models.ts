/** Schemas shared by every feature: the error envelope and list pages. */
import { Type, type IntegerOptions } from "@sinclair/typebox";
import { t, type TSchema } from "elysia";
import "./text.ts";

/**
 * Names a schema for OpenAPI: server/openapi.ts publishes it under `components.schemas.<name>`
 * and refers to it with `$ref` wherever a route uses it (the `$id` is Elysia's own convention).
 */
export const component = (name: string) => ({ $id: `#/components/schemas/${name}` });

export const ErrorEnvelope = t.Object(
  {
    error: t.Object({
      code: t.String({ description: "machine-readable code, e.g. not_found, validation_failed" }),
      message: t.String(),
      details: t.Optional(t.Array(t.Unknown())),
    }),
  },
  { ...component("Error"), description: "Every error has this shape (SPEC §3.5)." },
);

export const ListQuery = t.Object({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 25, description: "page size, 1..100" })),
  cursor: t.Optional(t.String({ pattern: "^[A-Za-z0-9_-]{8}$", description: "opaque cursor from the previous page's next_cursor" })),
  order: t.Optional(t.Union([t.Literal("asc"), t.Literal("desc")], { default: "asc", description: "by number" })),
});

/** A list page (SPEC §3.2); `name` publishes it as an OpenAPI component. */
export const Page = <T extends TSchema>(item: T, name?: string, description?: string) =>
  t.Object(
    { data: t.Array(item), next_cursor: t.Union([t.String(), t.Null()], { description: "cursor of the next page; null on the last page" }) },
    { ...(name ? component(name) : {}), ...(description ? { description } : {}) },
  );

/**
 * An integer field of a response. Elysia's `t.Integer` is a transform (it also decodes numeric
 * strings, which inputs need), and a response schema holding any transform makes Elysia run
 * TypeBox's interpreted Encode over the whole response on every request; a response's integers are
 * already numbers. The same JSON Schema in the OpenAPI document.
 */
export const ResponseInteger = (options: IntegerOptions) => Type.Integer(options);

export const Timestamp = t.String({ format: "date-time", description: "ISO-8601, UTC" });

/** A Timestamp from epoch milliseconds or a Date. */
export const iso = (ms: number | Date) => new Date(ms).toISOString();

/**
 * A Timestamp from a UTC `DATETIME(3)` as MySQL writes it (`2026-11-26 01:02:03.456`, read with
 * mysql2's `dateStrings`): the same text as `toISOString` gives, without building a `Date` per field.
 * Anything of another shape goes through `Date`.
 */
export const isoFromSql = (text: string) =>
  text.length === 23 && text.charCodeAt(10) === 32 && text.charCodeAt(19) === 46 ? `${text.slice(0, 10)}T${text.slice(11)}Z` : new Date(`${text.replace(" ", "T")}Z`).toISOString();

/** Error responses a route may give, for OpenAPI. */
export const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, ErrorEnvelope]));

export const TokenParams = t.Object({ token: t.String({ description: "the application's secret token" }) });

export const IdempotencyHeaders = t.Object({
  "idempotency-key": t.Optional(
    t.String({ pattern: "^[\\x21-\\x7e]{1,255}$", description: "1..255 visible ASCII characters; a repeat within 24 h returns the original response" }),
  ),
});
