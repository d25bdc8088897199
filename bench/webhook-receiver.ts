/** A webhook receiver for the bench: answers every POST 204 and counts them; GET /count reads the count. */
let count = 0;
Bun.serve({
  port: Number(process.env.PORT ?? 3903),
  hostname: "127.0.0.1",
  async fetch(request) {
    if (request.method === "GET") return new Response(String(count));
    await request.arrayBuffer();
    count++;
    return new Response(null, { status: 204 });
  },
});
