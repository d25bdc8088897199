import { t } from "elysia";
import { Page, ResponseInteger, Timestamp, component } from "../../common/models.ts";

export const Message = t.Object(
  {
    number: ResponseInteger({ minimum: 1, description: "1, 2, 3 … per chat" }),
    chat_number: ResponseInteger({ minimum: 1 }),
    body: t.String(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { ...component("Message"), description: "A message of a chat, addressed by its number" },
);

export const MessageInput = t.Object(
  {
    body: t.String({
      format: "message-body",
      description: "1..10,000 Unicode code points, not blank; kept exactly (emoji, \\n, \\t, \\r); other control characters are refused",
    }),
  },
  {
    ...component("MessageInput"),
    description: "A message's body (JSON; form data is accepted too). The request is at most 64 KiB: 10,000 code points always fit as UTF-8, not always as \\u escapes (413)",
  },
);

export const MessagePage = Page(Message, "MessagePage", "A page of messages, by number");

export const MessageParams = t.Object({ token: t.String(), chat: t.String(), message: t.String({ description: "message number" }) });
