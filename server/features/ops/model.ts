import { t } from "elysia";
import { component } from "../../common/models.ts";

export const Health = t.Object({ status: t.Literal("ok") }, { ...component("Health"), description: "The process is up" });

export const Readiness = t.Object(
  {
    status: t.Union([t.Literal("ready"), t.Literal("unavailable")]),
    checks: t.Object({
      mysql: t.Union([t.Literal("up"), t.Literal("down")]),
      redis: t.Union([t.Literal("up"), t.Literal("down")]),
      elasticsearch: t.Union([t.Literal("up"), t.Literal("down")]),
    }),
  },
  { ...component("Readiness"), description: "The state of MySQL, Redis and Elasticsearch" },
);
