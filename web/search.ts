/**
 * Search in the selected chat: a `searchbox` whose results are a list of hits, each showing its
 * number and its highlight, the matched parts in `<mark>` (built as DOM nodes, see highlight.ts).
 * Searches as the user types (after a pause) and on Enter; a late answer to an earlier query is dropped.
 */
import type { Chat, ChatClient } from "@chat-backend/sdk";
import { byId, h, plural } from "./dom.ts";
import { highlightNodes } from "./highlight.ts";
import type { Status } from "./status.ts";

const TYPING_PAUSE_MS = 300;
const RESULTS = 25;

export class SearchPanel {
  private readonly input = byId("search-query", HTMLInputElement);
  private readonly panel = byId("search-panel", HTMLElement);
  private readonly summary = byId("search-summary", HTMLElement);
  private readonly results = byId("search-results", HTMLUListElement);
  private api: ReturnType<ChatClient["messages"]> | null = null;
  /** Bumped by every search and reset; an answer is shown only if it is still the latest. */
  private sequence = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly client: ChatClient,
    private readonly status: Status,
  ) {
    byId("search", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      clearTimeout(this.timer);
      void this.search();
    });
    this.input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.search(), TYPING_PAUSE_MS);
    });
  }

  /** Searches this chat from now on (null: none); clears the previous chat's query and results. */
  open(token: string, chat: Chat | null): void {
    this.api = chat ? this.client.messages(token, chat.number) : null;
    this.input.value = "";
    this.reset();
  }

  private reset(): void {
    this.sequence++;
    clearTimeout(this.timer);
    this.panel.hidden = true;
    this.results.replaceChildren();
    this.summary.textContent = "";
  }

  private async search(): Promise<void> {
    const q = this.input.value.trim();
    if (!this.api) return;
    if (!q) return this.reset();
    const mine = ++this.sequence;
    try {
      const page = await this.api.search(q, { limit: RESULTS });
      if (mine !== this.sequence) return;
      this.results.replaceChildren(
        ...page.data.map((hit) => h("li", {}, h("span", { class: "number" }, `#${hit.number}`), " ", ...highlightNodes(hit.highlight))),
      );
      const count = page.data.length;
      this.summary.textContent = !count
        ? `No messages match “${q}”.`
        : page.next_cursor
          ? `The ${count} best matches for “${q}”:`
          : `${plural(count, "message")} ${count === 1 ? "matches" : "match"} “${q}”:`;
      this.panel.hidden = false;
    } catch (error) {
      if (mine === this.sequence) this.status.fail("Could not search", error);
    }
  }
}
