/**
 * The web client's entry: one SDK client for the API that served this page, the four panels, and
 * how they hand over (an open application lists its chats; a selected chat shows its messages and
 * is what the search looks in).
 */
import { ChatClient } from "@chat-backend/sdk";
import { ApplicationPanel } from "./application.ts";
import { ChatList } from "./chats.ts";
import { byId } from "./dom.ts";
import { MessagePane } from "./messages.ts";
import { SearchPanel } from "./search.ts";
import { Status } from "./status.ts";

// One quick retry; a longer Retry-After (a 429) is shown to the user, who is told when to try again.
const client = new ChatClient({ baseUrl: location.origin, maxRetries: 1, maxRetryAfter: 3, timeout: 15_000 });
const status = new Status(byId("status", HTMLElement));
const workspace = byId("workspace", HTMLElement);

const messages = new MessagePane(client, status, (chat, delta) => chats.adjustCount(chat, delta));
const search = new SearchPanel(client, status);
const chats = new ChatList(client, status, (token, chat) => {
  messages.open(token, chat);
  search.open(token, chat);
});
const application = new ApplicationPanel(client, status, (opened) => {
  workspace.hidden = !opened;
  messages.open("", null);
  search.open("", null);
  void chats.open(opened?.token ?? null);
});

void application.restore();
