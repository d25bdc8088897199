/**
 * The open application's chats: number, name and message count, a "New chat" form, and which one is
 * selected (`aria-current`). Counts lag behind the writes a little (SPEC §3.4): the list is re-read
 * now and then, and the open chat's count follows its live events.
 */
import type { Chat, ChatClient } from "@chat-backend/sdk";
import { byId, h, plural } from "./dom.ts";
import type { Status } from "./status.ts";

const REFRESH_MS = 15_000;
const MAX_CHATS = 1000;

type Item = { chat: Chat; button: HTMLButtonElement; count: HTMLElement };

export class ChatList {
  private readonly list = byId("chat-list", HTMLUListElement);
  private readonly empty = byId("no-chats", HTMLElement);
  private readonly nameInput = byId("chat-name", HTMLInputElement);
  private readonly items = new Map<number, Item>();
  private token: string | null = null;
  private selected: number | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private creating = false;

  constructor(
    private readonly client: ChatClient,
    private readonly status: Status,
    private readonly onSelect: (token: string, chat: Chat) => void,
  ) {
    byId("new-chat", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      void this.create();
    });
  }

  /** Shows the chats of this application (null: none open); selects the first one. */
  async open(token: string | null): Promise<void> {
    clearInterval(this.timer);
    this.token = token;
    this.selected = null;
    this.items.clear();
    this.list.replaceChildren();
    if (!token) return;
    await this.refresh();
    const first = [...this.items.values()][0];
    if (first && this.token === token && this.selected === null) this.select(first.chat.number);
    this.timer = setInterval(() => void this.refresh(true), REFRESH_MS);
  }

  /** The open chat's count, moved by a live event before the next refresh reads it. */
  adjustCount(number: number, delta: number): void {
    const item = this.items.get(number);
    if (!item) return;
    item.chat = { ...item.chat, messages_count: Math.max(0, item.chat.messages_count + delta) };
    item.count.textContent = plural(item.chat.messages_count, "message");
  }

  private async refresh(quiet = false): Promise<void> {
    const token = this.token;
    if (!token) return;
    try {
      const page = await this.client.chats(token).list({ limit: 100 });
      const chats = await page.toArray({ limit: MAX_CHATS });
      if (token !== this.token) return;
      for (const chat of chats) this.upsert(chat);
      // Chats deleted elsewhere go (never the selected one, whose pane would say why it failed).
      const live = new Set(chats.map((c) => c.number));
      for (const [number, item] of this.items) {
        if (!live.has(number) && number !== this.selected) {
          item.button.parentElement?.remove();
          this.items.delete(number);
        }
      }
      this.empty.hidden = this.items.size > 0;
    } catch (error) {
      if (!quiet) this.status.fail("Could not load the chats", error);
    }
  }

  private async create(): Promise<void> {
    const token = this.token;
    if (!token || this.creating) return;
    this.creating = true;
    const name = this.nameInput.value.trim();
    try {
      const chat = await this.client.chats(token).create(name ? { name } : {});
      if (token !== this.token) return;
      this.nameInput.value = "";
      this.upsert(chat);
      this.empty.hidden = true;
      this.select(chat.number);
      this.status.say(`Chat ${chat.number} created.`);
    } catch (error) {
      this.status.fail("Could not create the chat", error);
    } finally {
      this.creating = false;
    }
  }

  private upsert(chat: Chat): void {
    const existing = this.items.get(chat.number);
    if (existing) {
      existing.chat = chat;
      this.fill(existing);
      return;
    }
    const button = h("button", { attrs: { type: "button", "aria-current": "false" } });
    const item: Item = { chat, button, count: h("span", { class: "chat-count" }) };
    this.fill(item);
    button.addEventListener("click", () => this.select(item.chat.number));
    const li = h("li", {}, button);
    // In number order: a chat created elsewhere may arrive after newer ones.
    const next = [...this.items.values()].find((other) => other.chat.number > chat.number);
    this.list.insertBefore(li, next?.button.parentElement ?? null);
    this.items.set(chat.number, item);
  }

  private fill({ chat, button, count }: Item): void {
    count.textContent = plural(chat.messages_count, "message");
    button.replaceChildren(
      h("span", { class: "chat-number" }, `#${chat.number}`),
      h("span", { class: chat.name ? "chat-name" : "chat-name untitled" }, chat.name ?? "untitled"),
      count,
    );
  }

  private select(number: number): void {
    const item = this.items.get(number);
    if (!item || !this.token) return;
    this.selected = number;
    for (const [n, other] of this.items) other.button.setAttribute("aria-current", String(n === number));
    this.onSelect(this.token, item.chat);
  }
}
