/**
 * Counts are kept by the sink from what each batch changed; this periodic pass recomputes them from
 * COUNT(*) to correct any drift. One worker at a time runs it (MySQL GET_LOCK).
 */
import type { Pool } from "../core/db/client.ts";
import type { Logger } from "../core/log.ts";

export async function reconcileCounts(pool: Pool): Promise<{ chats: number; applications: number }> {
  const [chats] = await pool.query(
    `UPDATE chats c SET c.messages_count =
       (SELECT COUNT(*) FROM messages m WHERE m.application_id = c.application_id AND m.chat_number = c.number AND m.deleted_at IS NULL)
     WHERE c.deleted_at IS NULL`,
  );
  const [apps] = await pool.query(
    `UPDATE applications a SET a.chats_count =
       (SELECT COUNT(*) FROM chats c WHERE c.application_id = a.id AND c.deleted_at IS NULL AND c.version > 0)`,
  );
  return { chats: (chats as { changedRows: number }).changedRows, applications: (apps as { changedRows: number }).changedRows };
}

export function startReconciler({ pool, log, intervalMs }: { pool: Pool; log: Logger; intervalMs: number }) {
  const run = async () => {
    const conn = await pool.getConnection();
    try {
      const [[row]] = (await conn.query("SELECT GET_LOCK('chat_reconcile', 0) AS ok")) as unknown as [[{ ok: number }]];
      if (row?.ok !== 1) return;
      try {
        const changed = await reconcileCounts(pool);
        if (changed.chats || changed.applications) log.info("counts corrected", changed);
      } finally {
        await conn.query("SELECT RELEASE_LOCK('chat_reconcile')");
      }
    } finally {
      conn.release();
    }
  };
  const timer = setInterval(() => run().catch((error) => log.warn("reconcile failed", { err: error })), intervalMs);
  return { stop: () => clearInterval(timer) };
}
