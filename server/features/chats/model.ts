import { t } from "elysia";
import { Page, ResponseInteger, Timestamp, component } from "../../common/models.ts";

export const Chat = t.Object(
  {
    number: ResponseInteger({ minimum: 1, description: "1, 2, 3 … per application" }),
    name: t.Union([t.String(), t.Null()]),
    messages_count: ResponseInteger({ minimum: 0, description: "live messages; may lag by a few seconds" }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { ...component("Chat"), description: "A chat of an application, addressed by its number" },
);

const Name = t.String({ format: "name", description: "1..255 Unicode code points, one line, not blank" });

export const ChatCreate = t.Object(
  { name: t.Optional(t.Union([Name, t.Null()])) },
  { ...component("ChatCreateInput"), description: "A new chat; the name is optional (JSON; form data is accepted too)" },
);
export const ChatUpdate = t.Object(
  { name: t.Union([Name, t.Null()]) },
  { ...component("ChatUpdateInput"), description: "A chat's new name; null clears it (JSON; form data is accepted too)" },
);

export const ChatPage = Page(Chat, "ChatPage", "A page of chats, by number");

export const ChatParams = t.Object({ token: t.String(), chat: t.String({ description: "chat number" }) });
