/**
 * The MySQL schema, shared by the API (applications, reads) and the worker (chats, messages).
 * Chats and messages are keyed by natural keys so the worker upserts them without reading ids.
 * `version` orders the events of one row (last writer wins); `deleted_at` is a tombstone that no
 * later event can lift, so numbers are never reused and late events never resurrect a row.
 */
import { bigint, char, datetime, index, int, mysqlTable, primaryKey, text, varchar } from "drizzle-orm/mysql-core";

const timestamps = {
  createdAt: datetime("created_at", { mode: "date", fsp: 3 }).notNull(),
  updatedAt: datetime("updated_at", { mode: "date", fsp: 3 }).notNull(),
};

export const applications = mysqlTable("applications", {
  id: bigint("id", { mode: "number", unsigned: true }).autoincrement().primaryKey(),
  token: char("token", { length: 32 }).notNull().unique("applications_token_unique"),
  name: varchar("name", { length: 255 }).notNull(),
  chatsCount: int("chats_count", { unsigned: true }).notNull().default(0),
  /** Bumped by every change to the application's webhook endpoints: orders the registry's seedings. */
  webhooksVersion: int("webhooks_version", { unsigned: true }).notNull().default(0),
  ...timestamps,
});

export const chats = mysqlTable(
  "chats",
  {
    applicationId: bigint("application_id", { mode: "number", unsigned: true }).notNull(),
    number: int("number", { unsigned: true }).notNull(),
    name: varchar("name", { length: 255 }),
    messagesCount: int("messages_count", { unsigned: true }).notNull().default(0),
    /** 0 marks a placeholder row made by a message event that overtook its chat's create event. */
    version: bigint("version", { mode: "number", unsigned: true }).notNull(),
    deletedAt: datetime("deleted_at", { mode: "date", fsp: 3 }),
    ...timestamps,
  },
  (table) => [primaryKey({ name: "chats_pk", columns: [table.applicationId, table.number] })],
);

export const messages = mysqlTable(
  "messages",
  {
    applicationId: bigint("application_id", { mode: "number", unsigned: true }).notNull(),
    chatNumber: int("chat_number", { unsigned: true }).notNull(),
    number: int("number", { unsigned: true }).notNull(),
    body: text("body").notNull(),
    version: bigint("version", { mode: "number", unsigned: true }).notNull(),
    deletedAt: datetime("deleted_at", { mode: "date", fsp: 3 }),
    ...timestamps,
  },
  (table) => [primaryKey({ name: "messages_pk", columns: [table.applicationId, table.chatNumber, table.number] })],
);

/**
 * Outgoing webhook endpoints (SPEC §5.7). The API writes them directly (they are few); the worker
 * reads them from a Redis registry seeded from here (core/webhooks/registry.ts). `seq` orders the
 * list pages; `id` is the opaque public id.
 */
export const webhookEndpoints = mysqlTable("webhook_endpoints", {
  seq: bigint("seq", { mode: "number", unsigned: true }).autoincrement().primaryKey(),
  id: varchar("id", { length: 40 }).notNull().unique("webhook_endpoints_id_unique"),
  applicationId: bigint("application_id", { mode: "number", unsigned: true }).notNull(),
  url: varchar("url", { length: 2048 }).notNull(),
  /** Comma-separated event types; empty means every type. */
  events: varchar("events", { length: 255 }).notNull(),
  description: varchar("description", { length: 255 }),
  secret: varchar("secret", { length: 64 }).notNull(),
  createdAt: datetime("created_at", { mode: "date", fsp: 3 }).notNull(),
}, (table) => [index("webhook_endpoints_application").on(table.applicationId, table.seq)]);
