/**
 * Create or open an application. The open one's token is kept in local storage (a reload reopens
 * it) and shown, since it is the only way back to the application's chats.
 */
import { NotFoundError, type Application, type ChatClient } from "@chat-backend/sdk";
import { byId } from "./dom.ts";
import type { Status } from "./status.ts";
import { savedToken, saveToken } from "./storage.ts";

export class ApplicationPanel {
  private readonly nameInput = byId("application-name", HTMLInputElement);
  private readonly tokenInput = byId("token", HTMLInputElement);
  private readonly current = byId("current-application", HTMLElement);
  private busy = false;

  constructor(
    private readonly client: ChatClient,
    private readonly status: Status,
    private readonly onOpen: (application: Application | null) => void,
  ) {
    byId("create-application", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      void this.create();
    });
    byId("open-application", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      void this.open(this.tokenInput.value.trim(), "Could not open the application");
    });
    byId("close-application", HTMLButtonElement).addEventListener("click", () => this.close());
  }

  /** Reopens the application whose token this browser kept, if any. */
  async restore(): Promise<void> {
    const token = savedToken();
    if (token) await this.open(token, "Could not reopen the saved application");
  }

  private async create(): Promise<void> {
    const name = this.nameInput.value.trim();
    if (!name) {
      this.status.say("Type a name for the new application first.");
      return this.nameInput.focus();
    }
    await this.run("Could not create the application", async () => {
      const application = await this.client.applications.create({ name });
      this.nameInput.value = "";
      this.show(application);
      this.status.say(`Application “${application.name}” created. Keep its token: it is the only way back to it.`);
    });
  }

  private async open(token: string, action: string): Promise<void> {
    if (!token) {
      this.status.say("Paste an application's token first.");
      return this.tokenInput.focus();
    }
    await this.run(action, async () => {
      try {
        const application = await this.client.applications.get(token);
        this.show(application);
        this.status.say(`Application “${application.name}” open.`);
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
        if (savedToken() === token) saveToken(null);
        this.status.say(`${action}: no application has this token (it may have been deleted).`);
      }
    });
  }

  private show(application: Application): void {
    saveToken(application.token);
    this.tokenInput.value = application.token;
    byId("application-title", HTMLElement).textContent = application.name;
    byId("application-token", HTMLElement).textContent = application.token;
    this.current.hidden = false;
    this.onOpen(application);
  }

  private close(): void {
    saveToken(null);
    this.tokenInput.value = "";
    this.current.hidden = true;
    this.onOpen(null);
    this.status.say("Application closed. Its token is no longer kept in this browser.");
    this.tokenInput.focus();
  }

  /** One request at a time per panel; its failure goes to the status region. */
  private async run(action: string, work: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await work();
    } catch (error) {
      this.status.fail(action, error);
    } finally {
      this.busy = false;
    }
  }
}
