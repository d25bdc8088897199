import { t } from "elysia";
import { Timestamp } from "../../common/models.ts";

export const Application = t.Object(
  {
    token: t.String({ description: "secret token: 32 URL-safe characters, 192 random bits" }),
    name: t.String(),
    chats_count: t.Integer({ minimum: 0 }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: "#/components/schemas/Application" },
);

export const ApplicationInput = t.Object({
  name: t.String({ format: "name", description: "1..255 Unicode code points, one line, not blank" }),
});
