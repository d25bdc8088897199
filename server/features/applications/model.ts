import { t } from "elysia";
import { Page, ResponseInteger, Timestamp, component } from "../../common/models.ts";

export const Application = t.Object(
  {
    token: t.String({ description: "secret token: 32 URL-safe characters, 192 random bits" }),
    name: t.String(),
    chats_count: ResponseInteger({ minimum: 0 }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { ...component("Application"), description: "An application; its secret token addresses it and everything under it" },
);

export const ApplicationInput = t.Object(
  {
    name: t.String({ format: "name", description: "1..255 Unicode code points, one line, not blank" }),
  },
  { ...component("ApplicationInput"), description: "The name of an application (JSON; form data is accepted too)" },
);

export const ApplicationPage = Page(Application, "ApplicationPage", "A page of applications, by creation");
