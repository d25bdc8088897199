/** The baseline: a bare Elysia server that validates the same JSON body and echoes it (201). */
import { Elysia, t } from "elysia";

const port = Number(process.env.PORT ?? 3900);
new Elysia()
  .post("/echo/:chat", ({ body, set }) => ((set.status = 201), body), { body: t.Object({ body: t.String({ minLength: 1, maxLength: 10_000 }) }) })
  .get("/echo/:chat", ({ params }) => ({ number: 1, chat_number: Number(params.chat), body: "hello", created_at: new Date(0).toISOString() }))
  .listen(port);
console.log(`echo on ${port}`);
