import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "mysql",
  schema: "./core/db/schema.ts",
  out: "./core/db/migrations",
});
