/**
 * The MySQL schema, shared by the API (applications, reads) and the worker (chats, messages).
 * Chats and messages are keyed by natural keys so the worker upserts them without reading ids.
 * `version` orders the events of one row (last writer wins); `deleted_at` is a tombstone that no
 * later event can lift, so numbers are never reused and late events never resurrect a row.
 */
import { bigint, char, datetime, int, mysqlTable, primaryKey, text, varchar } from "drizzle-orm/mysql-core";

const timestamps = {
  createdAt: datetime("created_at", { mode: "date", fsp: 3 }).notNull(),
  updatedAt: datetime("updated_at", { mode: "date", fsp: 3 }).notNull(),
};

export const applications = mysqlTable("applications", {
  id: bigint("id", { mode: "number", unsigned: true }).autoincrement().primaryKey(),
  token: char("token", { length: 32 }).notNull().unique("applications_token_unique"),
  name: varchar("name", { length: 255 }).notNull(),
  chatsCount: int("chats_count", { unsigned: true }).notNull().default(0),
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
