/**
 * The web client at / (SPEC §5.8) in a real browser: Debian's chromium, headless, driven by
 * playwright-core, against the running stack (two API processes and a worker). Elements are found
 * by role and accessible name, as the SPEC lists them. Every wait is for something to appear, with a
 * generous timeout and a message saying what was waited for; nothing sleeps a fixed time.
 *
 * Screenshots (375 px and desktop) and the measured live-update latencies are written to
 * tests/browser/screenshots/ (git-ignored); the README shows copies of the screenshots from docs/.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { ChatClient } from "../../sdk/src/index.ts";
import { sharedStack, startApi, type Api } from "../support/processes.ts";
import { searchable } from "../support/stack.ts";

/** Installed by `bun run services browser` (test:all runs it). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOTS = join(import.meta.dir, "screenshots");
/** Long enough for two CPU hogs and a busy worker; a pass usually takes a fraction of it. */
const WAIT_MS = 20_000;

const [a, b] = (await sharedStack()).apis.map((api) => api.url) as [string, string];
let browser: Browser;
const contexts: BrowserContext[] = [];
/** What each page reported as an error (uncaught exceptions, console errors), by page. */
const problems = new Map<Page, string[]>();

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`bun run services browser\` (test:all does)`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Chromium's sandbox refuses to run as root (CI containers); the page is our own.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
  problems.clear();
});

afterAll(async () => {
  await browser?.close();
});

/** A fresh browser profile (its own local storage) with the page of the API at `base` open. */
async function openPage(base: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  const seen: string[] = [];
  problems.set(page, seen);
  page.on("pageerror", (error) => seen.push(`uncaught: ${error.message}`));
  page.on("console", (message) => message.type() === "error" && seen.push(`console: ${message.text()}`));
  await page.goto(`${base}/`);
  return page;
}

/** Fails with what was waited for, rather than a bare timeout. */
async function visible(locator: Locator, what: string, timeout = WAIT_MS): Promise<Locator> {
  try {
    await locator.first().waitFor({ state: "visible", timeout });
  } catch (error) {
    throw new Error(`waited ${timeout} ms for ${what}: ${(error as Error).message.split("\n")[0]}`);
  }
  return locator;
}

async function gone(locator: Locator, what: string, timeout = WAIT_MS): Promise<void> {
  try {
    await locator.waitFor({ state: "detached", timeout });
  } catch (error) {
    throw new Error(`waited ${timeout} ms for ${what} to go: ${(error as Error).message.split("\n")[0]}`);
  }
}

const log = (page: Page) => page.getByRole("log", { name: "Messages", exact: true });
const messageBox = (page: Page) => page.getByRole("textbox", { name: "Message", exact: true });
/** The message row (a list item of the log) whose body is exactly this text. */
const message = (page: Page, text: string) => log(page).getByRole("listitem").filter({ has: page.getByText(text, { exact: true }) });
const status = (page: Page) => page.getByRole("status");

/** Creates an application and a chat through the page, and waits until that chat is live. */
async function createApplicationAndChat(page: Page, appName: string, chatName: string): Promise<string> {
  await page.getByRole("textbox", { name: "Application name", exact: true }).fill(appName);
  await page.getByRole("button", { name: "Create application", exact: true }).click();
  await visible(page.getByRole("button", { name: "New chat", exact: true }), "the workspace of the new application");
  await page.getByRole("textbox", { name: "Chat name (optional)", exact: true }).fill(chatName);
  await page.getByRole("button", { name: "New chat", exact: true }).click();
  await visible(page.getByRole("list", { name: "Chats", exact: true }).getByRole("button", { name: `#1 ${chatName}` }), `chat 1 "${chatName}" in the list "Chats"`);
  await live(page);
  return page.getByRole("textbox", { name: "Token", exact: true }).inputValue();
}

/** Opens an existing application by its token; its first chat is selected; waits until it is live. */
async function openApplication(page: Page, token: string): Promise<void> {
  await page.getByRole("textbox", { name: "Token", exact: true }).fill(token);
  await page.getByRole("button", { name: "Open application", exact: true }).click();
  await live(page);
}

/** The selected chat's event stream is open: from now on every change reaches the page. */
async function live(page: Page): Promise<void> {
  await visible(page.getByText("Live", { exact: true }), "the selected chat's event stream to be live");
  await visible(log(page), 'the log "Messages"');
}

async function send(page: Page, text: string): Promise<void> {
  await messageBox(page).fill(text);
  await messageBox(page).press("Enter");
}

/**
 * Resolves with the time (ms since the epoch, the machine's clock) at which a message row with this
 * text appeared in the page, watched from inside the page so that the test's own polling adds nothing.
 */
async function appearance(page: Page, text: string): Promise<() => Promise<number>> {
  await page.evaluate((wanted) => {
    const target = document.getElementById("message-list")!;
    const w = window as unknown as { appeared?: Record<string, number> };
    w.appeared ??= {};
    const check = () => {
      if (w.appeared![wanted] === undefined && [...target.querySelectorAll(".body")].some((body) => body.textContent === wanted)) w.appeared![wanted] = Date.now();
    };
    new MutationObserver(check).observe(target, { childList: true, subtree: true, characterData: true });
    check();
  }, text);
  return async () => {
    await visible(message(page, text), `"${text}" in the other page's log`);
    return page.evaluate((wanted) => (window as unknown as { appeared: Record<string, number> }).appeared[wanted]!, text);
  };
}

function expectNoPageErrors(page: Page, allowed: RegExp[] = []) {
  expect((problems.get(page) ?? []).filter((problem) => !allowed.some((pattern) => pattern.test(problem)))).toEqual([]);
}

describe("the web client", () => {
  test("two pages on two API processes see each other's messages, edits and deletes live", async () => {
    const first = await openPage(a);
    const second = await openPage(b);
    const token = await createApplicationAndChat(first, "live demo", "general");
    await openApplication(second, token);
    // The token is shown and kept: a reload of the page reopens the application.
    await visible(second.getByText(token, { exact: true }), "the open application's token shown in the page");

    const latencies: Record<string, number> = {};
    let appeared = await appearance(second, "hello from A");
    let sent = Date.now();
    await send(first, "hello from A");
    latencies["A → B (message)"] = (await appeared()) - sent;

    appeared = await appearance(first, "hello from B");
    sent = Date.now();
    await send(second, "hello from B");
    latencies["B → A (message)"] = (await appeared()) - sent;

    // An edit made on the first page replaces the body on the second.
    await message(first, "hello from A").getByRole("button", { name: "Edit", exact: true }).click();
    const editor = first.getByRole("textbox", { name: "Edit message 1", exact: true });
    await editor.fill("hello from A, edited");
    appeared = await appearance(second, "hello from A, edited");
    sent = Date.now();
    await editor.press("Enter");
    latencies["A → B (edit)"] = (await appeared()) - sent;
    // Edited in place: the old body is gone, and there are still two rows.
    expect(await message(second, "hello from A").count()).toBe(0);
    expect(await log(second).getByRole("listitem").count()).toBe(2);

    // A delete on the second page removes the message from the first.
    sent = Date.now();
    await message(second, "hello from B").getByRole("button", { name: "Delete", exact: true }).click();
    await gone(message(first, "hello from B"), '"hello from B" in the first page after its delete');
    latencies["B → A (delete, as seen by the test)"] = Date.now() - sent;

    // Counts follow the live events (the list is also re-read now and then).
    await visible(first.getByRole("list", { name: "Chats", exact: true }).getByText("1 message", { exact: true }), "the chat's count of 1 message");
    writeFileSync(join(SCREENSHOTS, "live-latency.json"), `${JSON.stringify(latencies, null, 2)}\n`);
    // "Within a second" (the issue): measured from before the key press to the row's appearance in the
    // other page (a MutationObserver in that page, the same clock). With two CPU hogs running it stayed
    // under 160 ms; the 100 ms fan-out target itself is measured by bench/, not here.
    // Compared as a whole, so a failure shows every measured time.
    const slow = Object.entries(latencies).filter(([, ms]) => ms >= 1000);
    expect({ slow, latencies }).toEqual({ slow: [], latencies });

    // The token is kept in local storage: a reload reopens the application and its chat, live.
    await second.reload();
    await live(second);
    await visible(message(second, "hello from A, edited"), "the chat's message after a reload");
    expect(await second.getByRole("textbox", { name: "Token", exact: true }).inputValue()).toBe(token);
    expectNoPageErrors(first);
    expectNoPageErrors(second);
  });

  test("a fragment search finds and highlights the matched part in <mark>; message text is never markup", async () => {
    const page = await openPage(a);
    await createApplicationAndChat(page, "search demo", "search");
    const bodies = ["Hello world", "Goodbye moon", '<b>yellow</b> & "quoted" <script>x</script>'];
    for (const body of bodies) {
      await send(page, body);
      await visible(message(page, body), `"${body}" in the log`);
    }
    await searchable();
    await page.getByRole("searchbox", { name: "Search messages", exact: true }).fill("ello");
    await page.getByRole("searchbox", { name: "Search messages", exact: true }).press("Enter");
    const results = page.getByRole("list", { name: "Search results", exact: true });
    await visible(results.getByRole("listitem").filter({ hasText: "yellow" }), 'the hit "<b>yellow</b>…" in the list "Search results"');
    const hits = await results.getByRole("listitem").evaluateAll((items) =>
      items.map((item) => ({ text: item.textContent, marks: [...item.querySelectorAll("mark")].map((mark) => mark.textContent), elements: [...item.querySelectorAll("*")].map((e) => e.tagName) })),
    );
    expect(hits).toHaveLength(2);
    expect(hits).toContainEqual({ text: "#1 Hello world", marks: ["ello"], elements: ["SPAN", "MARK"] });
    // The body's own tags are text, in the results and in the log: no <b>, no <script>.
    expect(hits).toContainEqual({ text: `#3 ${bodies[2]}`, marks: ["ello"], elements: ["SPAN", "MARK"] });
    expect(await log(page).locator("b, script").count()).toBe(0);
    expectNoPageErrors(page);
  });

  test("keyboard alone: create an application and a chat, send with Enter; focus is visible", async () => {
    const page = await openPage(b);
    /** Presses Tab until `target` has focus (at most 40 times) and checks that the focus is drawn. */
    const tabTo = async (target: Locator, what: string) => {
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press("Tab");
        if (await target.evaluate((element) => element === document.activeElement)) {
          const outline = await target.evaluate((element) => getComputedStyle(element).outlineStyle);
          expect([what, outline]).not.toEqual([what, "none"]);
          return;
        }
      }
      throw new Error(`Tab never reached ${what}`);
    };
    await tabTo(page.getByRole("textbox", { name: "Application name", exact: true }), 'the textbox "Application name"');
    await page.keyboard.type("keyboard demo");
    await page.keyboard.press("Enter");
    await visible(page.getByRole("button", { name: "New chat", exact: true }), "the workspace of the new application");
    await tabTo(page.getByRole("textbox", { name: "Chat name (optional)", exact: true }), 'the textbox "Chat name (optional)"');
    await page.keyboard.type("typed");
    await page.keyboard.press("Enter");
    await live(page);
    await tabTo(messageBox(page), 'the textbox "Message"');
    await page.keyboard.type("sent without a mouse");
    await page.keyboard.press("Enter");
    await visible(message(page, "sent without a mouse"), "the message sent with Enter in the log");
    expect(await messageBox(page).inputValue()).toBe("");
    // Shift+Enter is a new line, not a send.
    await page.keyboard.type("two");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("lines");
    expect(await messageBox(page).inputValue()).toBe("two\nlines");
    await page.keyboard.press("Enter");
    await visible(message(page, "two\nlines"), "the two-line message in the log");
    expectNoPageErrors(page);
  });

  test("older messages load, in order, when the log is scrolled up (keyset pages)", async () => {
    const client = new ChatClient({ baseUrl: a });
    const { token } = await client.applications.create({ name: "history" });
    await client.chats(token).create({ name: "long" });
    const messages = client.messages(token, 1);
    for (let i = 1; i <= 60; i++) await messages.create({ body: `message ${i}` });
    const page = await openPage(b);
    await openApplication(page, token);
    await visible(message(page, "message 60"), "the newest message");
    expect(await message(page, "message 1").count()).toBe(0);
    // Scrolled to the top, the log reads the page before the oldest it shows; until message 1 is there.
    const rows = () => log(page).getByRole("listitem").count();
    for (let i = 0; i < 10 && !(await message(page, "message 1").count()); i++) {
      const before = await rows();
      await log(page).evaluate((element) => element.scrollTo({ top: 0 }));
      await page
        .waitForFunction((count) => document.querySelectorAll("#message-list > li").length > count, before, { timeout: WAIT_MS })
        .catch(() => {
          throw new Error(`waited ${WAIT_MS} ms for an older page after scrolling up (${before} rows shown)`);
        });
    }
    await visible(message(page, "message 1"), "message 1 after scrolling up");
    const numbers = await log(page).locator(".message").evaluateAll((items) => items.map((item) => Number((item as HTMLElement).dataset.number)));
    expect(numbers).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expectNoPageErrors(page);
  });

  describe("with a rate limit", () => {
    let limited: Api;
    beforeAll(async () => {
      limited = await startApi({ RATE_LIMIT_PER_MINUTE: "8" });
    });
    afterAll(async () => {
      await limited?.stop();
    });

    test("a 429 is said in words in the status region, with when to try again", async () => {
      const page = await openPage(limited.url);
      await createApplicationAndChat(page, "limited", "busy");
      let said = "";
      for (let i = 0; i < 10 && !/too many requests/.test(said); i++) {
        await send(page, `burst ${i}`);
        await visible(status(page).filter({ hasText: "too many requests" }).or(message(page, `burst ${i}`)), `"burst ${i}" in the log or a rate-limit status`);
        said = (await status(page).textContent()) ?? "";
      }
      expect(said).toMatch(/^Could not send the message: too many requests\. Try again in \d+ seconds?\.$/);
      // The browser logs the 429 response itself; nothing else may fail.
      expectNoPageErrors(page, [/status of 429/]);
    });
  });

  test("at 375 px nothing is wider than the screen; screenshots at 375 px and on a desktop", async () => {
    const page = await openPage(a);
    await createApplicationAndChat(page, "Demo", "general");
    for (const body of ["Hello world! Anyone here?", "Yes, hello. The search below finds fragments like “ell”.", "Edits and deletes show up live in every tab."]) {
      await send(page, body);
      await visible(message(page, body), `"${body}" in the log`);
    }
    await searchable();
    await page.getByRole("searchbox", { name: "Search messages", exact: true }).fill("ell");
    await page.getByRole("searchbox", { name: "Search messages", exact: true }).press("Enter");
    await visible(page.getByRole("list", { name: "Search results", exact: true }).locator("mark"), "a highlighted search hit");
    await messageBox(page).focus();
    await page.screenshot({ path: join(SCREENSHOTS, "desktop.png"), fullPage: true });

    await page.setViewportSize({ width: 375, height: 812 });
    const widest = await page.evaluate(() => Math.max(document.documentElement.scrollWidth, ...[...document.querySelectorAll("body *")].map((e) => e.getBoundingClientRect().right)));
    expect(widest).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(SCREENSHOTS, "phone-375.png"), fullPage: true });
    expectNoPageErrors(page);
  });
});
