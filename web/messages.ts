/**
 * The selected chat's messages in a `log`: the newest page first, older pages (keyset cursors, via
 * the SDK's `nextPage()`) when the reader scrolls up, and live events from the chat's stream, so that
 * what anyone sends, edits or deletes, in another tab or through another API process, appears here
 * without a reload. Also the composer (Enter sends) and each message's Edit and Delete.
 */
import { NotFoundError, type Chat, type ChatClient, type LiveEvent, type Message, type Page } from "@chat-backend/sdk";
import { byId, h, shortTime, uniqueId } from "./dom.ts";
import type { Status } from "./status.ts";

const PAGE_SIZE = 25;
/** Within this many pixels of the top, the next older page is read. */
const NEAR_TOP_PX = 80;
/** Within this many pixels of the bottom, a new message scrolls into view; further up, the reader is left where they are. */
const NEAR_BOTTOM_PX = 80;
/** Older pages read at most to fill a tall screen when the newest page does not. */
const MAX_FILL_PAGES = 8;

type Row = { message: Message; li: HTMLLIElement; body: HTMLElement; edited: HTMLElement; actions: HTMLElement; editButton: HTMLButtonElement; editing: boolean };

/** One selected chat; replaced (and its stream stopped) when another is selected. */
type Session = {
  chat: number;
  api: ReturnType<ChatClient["messages"]>;
  stop: AbortController;
  rows: Map<number, Row>;
  /** Numbers are never reused: once deleted, a message is ignored should an older read still hold it. */
  deleted: Set<number>;
  /** The oldest page read so far (its `nextPage()` is the one before it); undefined until the first. */
  oldest: Page<Message> | undefined;
  loadingOlder: boolean;
  loaded: boolean;
};

/** Enter alone sends; Shift+Enter is a new line; nothing while an input method is composing. */
export const isSendKey = (event: KeyboardEvent) => event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey && !event.isComposing;

export class MessagePane {
  private readonly section = byId("chat", HTMLElement);
  private readonly heading = byId("chat-heading", HTMLElement);
  private readonly liveState = byId("live-state", HTMLElement);
  private readonly log = byId("messages", HTMLElement);
  private readonly list = byId("message-list", HTMLOListElement);
  private readonly olderButton = byId("older", HTMLButtonElement);
  private readonly composer = byId("composer", HTMLFormElement);
  private readonly input = byId("message", HTMLTextAreaElement);
  private session: Session | null = null;
  private sending = false;

  constructor(
    private readonly client: ChatClient,
    private readonly status: Status,
    /** A live event changed the chat's message count by `delta`. */
    private readonly onCount: (chat: number, delta: number) => void,
  ) {
    this.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.send();
    });
    this.input.addEventListener("keydown", (event) => {
      if (!isSendKey(event)) return;
      event.preventDefault();
      this.composer.requestSubmit();
    });
    this.log.addEventListener("scroll", () => this.log.scrollTop < NEAR_TOP_PX && void this.loadOlder(), { passive: true });
    this.olderButton.addEventListener("click", () => void this.loadOlder());
  }

  /** Shows this chat (null: none) and follows its events until another is opened. */
  open(token: string, chat: Chat | null): void {
    this.session?.stop.abort();
    this.session = null;
    this.list.replaceChildren();
    this.olderButton.hidden = true;
    this.section.hidden = !chat;
    if (!chat) return;
    const session: Session = {
      chat: chat.number,
      api: this.client.messages(token, chat.number),
      stop: new AbortController(),
      rows: new Map(),
      deleted: new Set(),
      oldest: undefined,
      loadingOlder: false,
      loaded: false,
    };
    this.session = session;
    this.heading.textContent = `#${chat.number} ${chat.name ?? "untitled"}`;
    this.liveState.textContent = "Connecting…";
    this.log.setAttribute("aria-busy", "true");
    void this.loadNewest(session);
    void this.follow(session);
  }

  private async follow(session: Session): Promise<void> {
    try {
      const events = session.api.subscribe({
        signal: session.stop.signal,
        onOpen: () => {
          if (session !== this.session) return;
          this.liveState.textContent = "Live";
          // What changed before the stream was live is in this read; everything after arrives as events.
          void this.loadNewest(session);
        },
      });
      for await (const event of events) {
        if (session !== this.session) return;
        this.apply(session, event);
      }
    } catch (error) {
      if (session !== this.session) return;
      this.liveState.textContent = "Not live";
      this.status.fail("Live updates stopped", error);
    }
  }

  private apply(session: Session, { type, message }: LiveEvent): void {
    if (type === "message.deleted") {
      this.onCount(session.chat, -1);
      return this.drop(session, message.number);
    }
    if (type === "message.updated") {
      // A message not shown yet (on an older page) is read with its page, as it is by then.
      if (session.rows.has(message.number)) this.merge(session, message);
      return;
    }
    this.onCount(session.chat, 1);
    const follow = this.nearBottom();
    this.merge(session, message);
    if (follow) this.scrollToBottom();
  }

  private async loadNewest(session: Session): Promise<void> {
    try {
      const page = await session.api.list({ order: "desc", limit: PAGE_SIZE });
      if (session !== this.session) return;
      const follow = this.nearBottom();
      for (const message of page.data) this.merge(session, message);
      session.oldest ??= page;
      if (!session.loaded) {
        session.loaded = true;
        this.log.setAttribute("aria-busy", "false");
        this.scrollToBottom();
        await this.fillScreen(session);
      } else if (follow) this.scrollToBottom();
      this.showOlderButton(session);
    } catch (error) {
      if (session === this.session) this.status.fail("Could not load the messages", error);
    }
  }

  /** A screen taller than a page of messages has no scroll bar to pull older ones with: read them now. */
  private async fillScreen(session: Session): Promise<void> {
    for (let i = 0; i < MAX_FILL_PAGES && session === this.session && this.log.scrollHeight <= this.log.clientHeight && session.oldest?.next_cursor; i++) {
      await this.loadOlder();
    }
    this.scrollToBottom();
  }

  private async loadOlder(): Promise<void> {
    const session = this.session;
    if (!session || session.loadingOlder || !session.oldest?.next_cursor) return;
    session.loadingOlder = true;
    try {
      const page = await session.oldest.nextPage();
      if (session !== this.session || !page) return;
      const before = this.log.scrollHeight;
      for (const message of page.data) this.merge(session, message);
      // Keep what the reader was looking at in place: the new rows went in above it.
      this.log.scrollTop += this.log.scrollHeight - before;
      session.oldest = page;
      this.showOlderButton(session);
    } catch (error) {
      if (session === this.session) this.status.fail("Could not load older messages", error);
    } finally {
      session.loadingOlder = false;
    }
  }

  private showOlderButton(session: Session): void {
    const hide = !session.oldest?.next_cursor;
    if (hide && document.activeElement === this.olderButton) this.log.focus();
    this.olderButton.hidden = hide;
  }

  private async send(): Promise<void> {
    const session = this.session;
    const body = this.input.value;
    if (!session || this.sending) return;
    if (!body.trim()) {
      this.status.say("Type a message first.");
      return;
    }
    this.sending = true;
    try {
      const message = await session.api.create({ body });
      if (session !== this.session) return;
      // Whatever was typed while it was being sent stays.
      if (this.input.value === body) this.input.value = "";
      this.merge(session, message);
      this.scrollToBottom();
      this.status.clear();
    } catch (error) {
      this.status.fail("Could not send the message", error);
    } finally {
      this.sending = false;
    }
  }

  /** A message as read (a page, a response or an event): added in number order, or its row brought up to date. */
  private merge(session: Session, message: Message): void {
    if (session.deleted.has(message.number)) return;
    const row = session.rows.get(message.number);
    if (!row) return this.insert(session, message);
    // An older read of a message since edited (ISO-8601 UTC timestamps compare as strings).
    if (message.updated_at < row.message.updated_at) return;
    row.message = message;
    row.body.textContent = message.body;
    row.edited.hidden = message.updated_at === message.created_at;
  }

  private insert(session: Session, message: Message): void {
    const row = this.row(session, message);
    session.rows.set(message.number, row);
    // New messages go last and older pages first, so look from the end, then from the start.
    const last = this.list.lastElementChild as HTMLElement | null;
    if (!last || Number(last.dataset.number) < message.number) return void this.list.append(row.li);
    const next = [...this.list.children].find((li) => Number((li as HTMLElement).dataset.number) > message.number) ?? null;
    this.list.insertBefore(row.li, next);
  }

  private row(session: Session, message: Message): Row {
    const numberId = uniqueId("message-number");
    const body = h("p", { class: "body" }, message.body);
    const edited = h("span", { class: "edited" }, "(edited)");
    edited.hidden = message.updated_at === message.created_at;
    // Every message's buttons are named "Edit" and "Delete" (SPEC §5.8); the number describes them.
    const editButton = h("button", { class: "secondary", attrs: { type: "button", "aria-describedby": numberId } }, "Edit");
    const deleteButton = h("button", { class: "danger", attrs: { type: "button", "aria-describedby": numberId } }, "Delete");
    const actions = h("div", { class: "actions" }, editButton, deleteButton);
    const li = h(
      "li",
      { class: "message", attrs: { "data-number": String(message.number) } },
      h(
        "p",
        { class: "meta" },
        h("span", { class: "number", attrs: { id: numberId } }, `#${message.number}`),
        h("time", { attrs: { datetime: message.created_at } }, shortTime(message.created_at)),
        edited,
      ),
      body,
      actions,
    );
    const row: Row = { message, li, body, edited, actions, editButton, editing: false };
    editButton.addEventListener("click", () => this.edit(session, row));
    deleteButton.addEventListener("click", () => void this.remove(session, row));
    return row;
  }

  /** Edits in place: Enter saves, Shift+Enter is a new line, Escape cancels; focus returns to Edit. */
  private edit(session: Session, row: Row): void {
    if (row.editing) return;
    row.editing = true;
    const number = row.message.number;
    const id = uniqueId("edit");
    const field = h("textarea", { attrs: { id, rows: "2", maxlength: "10000" } });
    field.value = row.message.body;
    const cancel = h("button", { class: "secondary", attrs: { type: "button" } }, "Cancel");
    const form = h(
      "form",
      { class: "edit", attrs: { novalidate: "" } },
      h("label", { attrs: { for: id } }, `Edit message ${number}`),
      field,
      h("div", { class: "actions" }, h("button", { attrs: { type: "submit" } }, "Save"), cancel),
    );
    let saving = false;
    const finish = () => {
      form.remove();
      row.body.hidden = row.actions.hidden = row.editing = false;
      row.editButton.focus();
    };
    cancel.addEventListener("click", finish);
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        finish();
      } else if (isSendKey(event)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = field.value;
      if (saving) return;
      if (!body.trim()) return this.status.say("A message cannot be empty: use Delete to remove it.");
      if (body === row.message.body) return finish();
      saving = true;
      try {
        const updated = await session.api.update(number, { body });
        if (session === this.session) this.merge(session, updated);
        finish();
        this.status.say(`Message ${number} edited.`);
      } catch (error) {
        this.status.fail("Could not edit the message", error);
      } finally {
        saving = false;
      }
    });
    row.body.hidden = row.actions.hidden = true;
    row.body.after(form);
    field.focus();
  }

  private async remove(session: Session, row: Row): Promise<void> {
    const number = row.message.number;
    try {
      await session.api.delete(number);
      this.status.say(`Message ${number} deleted.`);
    } catch (error) {
      // Deleted elsewhere meanwhile: gone either way.
      if (!(error instanceof NotFoundError)) return this.status.fail("Could not delete the message", error);
    }
    if (session === this.session) this.drop(session, number);
  }

  /** Removes a deleted message's row; focus inside it moves to a neighbour (or the composer), not to the page's start. */
  private drop(session: Session, number: number): void {
    session.deleted.add(number);
    const row = session.rows.get(number);
    if (!row) return;
    session.rows.delete(number);
    const hadFocus = row.li.contains(document.activeElement);
    const neighbour = row.li.nextElementSibling ?? row.li.previousElementSibling;
    row.li.remove();
    if (hadFocus) (neighbour?.querySelector("button") ?? this.input).focus();
  }

  private nearBottom(): boolean {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < NEAR_BOTTOM_PX;
  }

  private scrollToBottom(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }
}
