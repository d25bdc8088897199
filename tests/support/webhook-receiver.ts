/** A webhook receiver on loopback for the tests: it records every request and answers as told. */
export type Delivery = { headers: Record<string, string>; body: string; at: number };

/** `answer` decides each response (given the request's 1-based count); default 204. */
export function webhookReceiver(answer: (n: number, delivery: Delivery) => Response | Promise<Response> = () => new Response(null, { status: 204 })) {
  const requests: Delivery[] = [];
  /** Requests answered 2xx while their sender was still there. */
  const accepted: Delivery[] = [];
  let open = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    // A receiver that hangs on purpose must not be cut off by the server's own idle timeout.
    idleTimeout: 0,
    async fetch(request) {
      const delivery: Delivery = { headers: Object.fromEntries(request.headers), body: await request.text(), at: performance.now() };
      requests.push(delivery);
      open++;
      try {
        const response = await answer(requests.length, delivery);
        // A sender that went away (killed, timed out) never saw the answer: not a delivery.
        if (response.status >= 200 && response.status < 300 && !request.signal.aborted) accepted.push(delivery);
        return response;
      } finally {
        open--;
      }
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/hook`,
    requests,
    accepted,
    /** Requests received and not yet answered. */
    open: () => open,
    /** Distinct webhook-ids among the accepted requests. */
    acceptedIds: () => new Set(accepted.map((d) => d.headers["webhook-id"]!)),
    stop: () => server.stop(true),
  };
}
