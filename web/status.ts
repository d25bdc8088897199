/** The page's one `status` region: what just happened or went wrong, in words (read out by screen readers). */
import { describeError } from "./errors.ts";

export class Status {
  constructor(private readonly element: HTMLElement) {}

  say(text: string): void {
    this.element.classList.remove("error");
    this.element.textContent = text;
  }

  /** `action` says what failed, e.g. "Could not send the message". */
  fail(action: string, error: unknown): void {
    this.element.classList.add("error");
    this.element.textContent = describeError(action, error);
  }

  clear(): void {
    this.say("");
  }
}
