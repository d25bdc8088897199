/**
 * A page of a list or search: `data` and `next_cursor` as on the wire, the HTTP `response` it came
 * from, and also an async iterable over every item of every following page, fetched lazily, one page
 * at a time.
 */
import { ApiPromise, type ApiResponse, type WithResponse } from "./response.js";

export type PageData<T> = { data: T[]; next_cursor: string | null };

/** Fetches the page after `cursor` (the first page when undefined). */
export type PageFetcher<T> = (cursor?: string) => Promise<WithResponse<PageData<T>>>;

export class Page<T> implements PageData<T>, AsyncIterable<T> {
  readonly data: T[];
  readonly next_cursor: string | null;
  // Private fields: a page spreads, compares and serialises as `{ data, next_cursor }` only.
  readonly #response: ApiResponse;
  readonly #fetchPage: PageFetcher<T>;

  constructor(page: PageData<T>, response: ApiResponse, fetchPage: PageFetcher<T>) {
    this.data = page.data;
    this.next_cursor = page.next_cursor;
    this.#response = response;
    this.#fetchPage = fetchPage;
  }

  /** The HTTP response this page came from (status, headers, requestId). */
  get response(): ApiResponse {
    return this.#response;
  }

  /** The next page, or null after the last one. */
  async nextPage(): Promise<Page<T> | null> {
    if (this.next_cursor === null) return null;
    const { data, response } = await this.#fetchPage(this.next_cursor);
    return new Page(data, response, this.#fetchPage);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let page: Page<T> | null = this;
    while (page) {
      yield* page.data;
      page = await page.nextPage();
    }
  }

  /** Every item from this page on, up to `limit` (default: all). */
  async toArray({ limit = Infinity }: { limit?: number } = {}): Promise<T[]> {
    const items: T[] = [];
    if (limit <= 0) return items;
    for await (const item of this) {
      items.push(item);
      if (items.length >= limit) break;
    }
    return items;
  }
}

/** The first page of a list, as an ApiPromise (`.withResponse()` gives the page and its response). */
export function firstPage<T>(fetchPage: PageFetcher<T>): ApiPromise<Page<T>> {
  return new ApiPromise(fetchPage().then(({ data, response }) => ({ data: new Page(data, response, fetchPage), response })));
}
