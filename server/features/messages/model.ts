import { t } from "elysia";
import { Timestamp } from "../../common/models.ts";

export const Message = t.Object(
  {
    number: t.Integer({ minimum: 1, description: "1, 2, 3 … per chat" }),
    chat_number: t.Integer({ minimum: 1 }),
    body: t.String(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: "#/components/schemas/Message" },
);

export const MessageInput = t.Object({
  body: t.String({
    format: "message-body",
    description: "1..10,000 Unicode code points, not blank; kept exactly (emoji, \\n, \\t, \\r); other control characters are refused",
  }),
});

export const MessageParams = t.Object({ token: t.String(), chat: t.String(), message: t.String({ description: "message number" }) });
