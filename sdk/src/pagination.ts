/**
 * A page of a list or search: `data` and `next_cursor` as on the wire, and also an async iterable
 * over every item of every following page, fetched lazily, one page at a time.
 */
export type PageData<T> = { data: T[]; next_cursor: string | null };

export class Page<T> implements PageData<T>, AsyncIterable<T> {
  readonly data: T[];
  readonly next_cursor: string | null;

  constructor(
    page: PageData<T>,
    private readonly fetchPage: (cursor: string) => Promise<PageData<T>>,
  ) {
    this.data = page.data;
    this.next_cursor = page.next_cursor;
  }

  /** The next page, or null after the last one. */
  async nextPage(): Promise<Page<T> | null> {
    return this.next_cursor === null ? null : new Page(await this.fetchPage(this.next_cursor), this.fetchPage);
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
