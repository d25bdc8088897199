/**
 * The messages index: a versioned concrete index behind an alias (so a mapping change is a new
 * index filled by `reindex`, then an alias swap). The body is indexed three ways:
 * whole folded words (exact hits rank highest), edge n-grams (short prefixes) and 3..15-grams
 * (fragments inside words), all lowercased and ASCII-folded (case- and accent-insensitive).
 */
import type { Client, estypes } from "@elastic/elasticsearch";

export const INDEX_VERSION = 1;
export const MAX_GRAM = 15;

export function indexSettings(refreshInterval: string): estypes.IndicesIndexSettings {
  return {
    number_of_shards: 1,
    number_of_replicas: 0,
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

/** Creates `<alias>_v<INDEX_VERSION>` and points the alias at it, unless the alias exists. */
export async function ensureSearchIndex(es: Client, alias: string, refreshInterval: string): Promise<"created" | "exists"> {
  if (await es.indices.existsAlias({ name: alias })) {
    await es.indices.putSettings({ index: alias, settings: { refresh_interval: refreshInterval } });
    return "exists";
  }
  const index = `${alias}_v${INDEX_VERSION}`;
  if (!(await es.indices.exists({ index }))) {
    await es.indices.create({ index, settings: indexSettings(refreshInterval), mappings: indexMappings }).catch((error) => {
      if (!String(error?.message).includes("resource_already_exists")) throw error;
    });
  }
  await es.indices.putAlias({ index, name: alias });
  return "created";
}
