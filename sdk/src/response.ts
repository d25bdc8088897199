/**
 * The raw side of a call: every method returns an `ApiPromise`, which resolves to the parsed
 * result like any promise and also offers `.withResponse()` for the HTTP response it came from
 * (as openai-node's `.withResponse()` and stripe-node's `lastResponse`).
 */

/** The HTTP response a call's result came from (its last attempt, after any retries). */
export type ApiResponse = {
  /** HTTP status, e.g. 201 for a create, 204 for a delete. */
  status: number;
  /** The response headers (`location`, `ratelimit-remaining`, `idempotent-replayed`, …). */
  headers: Headers;
  /** The `x-request-id` response header: the server logs it; it echoes the one you sent. */
  requestId: string | undefined;
  /** The URL requested. */
  url: string;
  /** Attempts made: 1, plus one per retry. */
  attempts: number;
  /** For POSTs, the `Idempotency-Key` sent (yours, or the generated one). */
  idempotencyKey: string | undefined;
};

/** A call's result with the response it came from. */
export type WithResponse<T> = { data: T; response: ApiResponse };

/**
 * A promise of a call's result that can also give the raw response:
 * ```ts
 * const chat = await client.chats(token).create({ name: "general" });
 * const { data, response } = await client.chats(token).create({ name: "x" }).withResponse();
 * ```
 * It is a real, native `Promise` of the result (`instanceof Promise`, `then`, `catch`, `finally`,
 * `await`); promises derived from it (`then`, …) are plain Promises. Made by the SDK's methods only.
 */
export class ApiPromise<T> extends Promise<T> {
  readonly #result: Promise<WithResponse<T>>;

  constructor(result: Promise<WithResponse<T>>) {
    super((resolve, reject) => {
      result.then((value) => resolve(value.data), reject);
    });
    this.#result = result;
  }

  /** Derived promises are plain Promises (the engine must not call this constructor with an executor). */
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  /**
   * The result and the HTTP response it came from: `{ data, response }`. A failed call rejects this
   * promise with the same error as the call's own, which is then not reported a second time as an
   * unhandled rejection.
   */
  withResponse(): Promise<WithResponse<T>> {
    super.then(undefined, () => {});
    return this.#result;
  }
}
