/**
 * The messages index: a versioned concrete index behind an alias (so a mapping change is a new
 * index filled by `reindex`, then an alias swap). The body is indexed three ways:
 * whole folded words (exact hits rank highest), edge n-grams (short prefixes) and 3..15-grams
 * (fragments inside words), all lowercased and ASCII-folded (case- and accent-insensitive).
 */
import type { Client, estypes } from "@elastic/elasticsearch";

export const INDEX_VERSION = 1;
export const MAX_GRAM = 15;

/** How an index is laid out: primary shards (fixed when it is created) and replicas of each (changeable in place). */
export type IndexLayout = { shards: number; replicas: number };

export function indexSettings(refreshInterval: string, layout: IndexLayout = { shards: 1, replicas: 0 }): estypes.IndicesIndexSettings {
  return {
    number_of_shards: layout.shards,
    number_of_replicas: layout.replicas,
    refresh_interval: refreshInterval,
    max_ngram_diff: MAX_GRAM - 3,
    analysis: {
      filter: {
        folding: { type: "asciifolding", preserve_original: false },
        grams: { type: "ngram", min_gram: 3, max_gram: MAX_GRAM },
        prefixes: { type: "edge_ngram", min_gram: 1, max_gram: 20 },
      },
      analyzer: {
        folded: { type: "custom", tokenizer: "standard", filter: ["lowercase", "folding"] },
        grams: { type: "custom", tokenizer: "standard", filter: ["lowercase", "folding", "grams"] },
        prefixes: { type: "custom", tokenizer: "standard", filter: ["lowercase", "folding", "prefixes"] },
      },
    },
  };
}

export const indexMappings: estypes.MappingTypeMapping = {
  dynamic: "strict",
  properties: {
    app: { type: "long" },
    /** "<app id>:<chat number>": the filter that scopes a search to one chat, and the routing key. */
    chat: { type: "keyword" },
    number: { type: "integer" },
    body: {
      type: "text",
      analyzer: "folded",
      fields: {
        grams: { type: "text", analyzer: "grams", search_analyzer: "folded" },
        prefixes: { type: "text", analyzer: "prefixes", search_analyzer: "folded" },
      },
    },
    created_at: { type: "date", format: "epoch_millis" },
  },
};

export const chatKey = (appId: number, chat: number) => `${appId}:${chat}`;
export const documentId = (appId: number, chat: number, number: number) => `${appId}:${chat}:${number}`;

/** What `ensureSearchIndex` needs of the configuration. */
export type SearchIndexConfig = { searchIndex: string; searchRefreshInterval: string; searchShards: number; searchReplicas: number };

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

/**
 * Creates `<alias>_v<INDEX_VERSION>` with the configured layout and points the alias at it, unless
 * the alias exists. Then the dynamic settings (refresh interval, replicas) are applied to the index
 * behind the alias in place. The shard count is fixed at creation: one that differs from
 * SEARCH_SHARDS is reported, not changed. Returns one line for the log.
 */
export async function ensureSearchIndex(es: Client, config: SearchIndexConfig): Promise<string> {
  const alias = config.searchIndex;
  let created = false;
  if (!(await es.indices.existsAlias({ name: alias }))) {
    const index = `${alias}_v${INDEX_VERSION}`;
    if (!(await es.indices.exists({ index }))) {
      const layout = { shards: config.searchShards, replicas: config.searchReplicas };
      created = await es.indices.create({ index, settings: indexSettings(config.searchRefreshInterval, layout), mappings: indexMappings }).then(
        () => true,
        (error) => {
          if (!String(error?.message).includes("resource_already_exists")) throw error;
          return false; // another migrate created it a moment ago
        },
      );
    }
    await es.indices.putAlias({ index, name: alias });
  }
  await es.indices.putSettings({ index: alias, settings: { refresh_interval: config.searchRefreshInterval, number_of_replicas: config.searchReplicas } });
  const states = await es.indices.getSettings({ index: alias, flat_settings: true });
  const described = Object.entries(states).map(([index, state]) => {
    const settings = (state.settings ?? {}) as Record<string, string>;
    const shards = Number(settings["index.number_of_shards"]);
    const replicas = Number(settings["index.number_of_replicas"]);
    const fixed = shards === config.searchShards ? "" : `; SEARCH_SHARDS=${config.searchShards} not applied: the shard count of an index is fixed when it is created`;
    return `${index}: ${count(shards, "shard")}, ${count(replicas, "replica")}${fixed}`;
  });
  return `${created ? "created" : "exists"} (${described.join("; ")})`;
}
