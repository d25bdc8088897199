package chat.analysis;

import java.util.Map;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.ngram.EdgeNGramTokenFilter;
import org.apache.lucene.analysis.ngram.NGramTokenFilter;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

/**
 * The three token filters our search mapping needs, which Elasticsearch ships in its analysis-common
 * module (not published to Maven Central): asciifolding, ngram and edge_ngram, with the same names
 * and settings, built on Lucene's own filters.
 */
public class ChatAnalysisPlugin extends Plugin implements AnalysisPlugin {
    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of(
            "asciifolding", (index, env, name, settings) -> new Factory(name, settings) {
                final boolean preserveOriginal = settings.getAsBoolean("preserve_original", false);

                @Override
                public TokenStream create(TokenStream input) {
                    return new ASCIIFoldingFilter(input, preserveOriginal);
                }
            },
            "ngram", (index, env, name, settings) -> {
                int min = settings.getAsInt("min_gram", 1);
                int max = settings.getAsInt("max_gram", 2);
                checkDiff(index, min, max);
                boolean preserve = settings.getAsBoolean("preserve_original", false);
                return new Factory(name, settings) {
                    @Override
                    public TokenStream create(TokenStream input) {
                        return new NGramTokenFilter(input, min, max, preserve);
                    }
                };
            },
            "edge_ngram", (index, env, name, settings) -> {
                int min = settings.getAsInt("min_gram", 1);
                int max = settings.getAsInt("max_gram", 2);
                boolean preserve = settings.getAsBoolean("preserve_original", false);
                return new Factory(name, settings) {
                    @Override
                    public TokenStream create(TokenStream input) {
                        return new EdgeNGramTokenFilter(input, min, max, preserve);
                    }
                };
            }
        );
    }

    /** Same guard as Elasticsearch's ngram filter: index.max_ngram_diff bounds max_gram - min_gram. */
    private static void checkDiff(IndexSettings index, int min, int max) {
        int allowed = index.getMaxNgramDiff();
        if (max - min > allowed) {
            throw new IllegalArgumentException(
                "The difference between max_gram and min_gram in NGram Tokenizer must be less than or equal to: ["
                    + allowed + "] but was [" + (max - min) + "]. This limit can be set by changing the ["
                    + IndexSettings.MAX_NGRAM_DIFF_SETTING.getKey() + "] index level setting."
            );
        }
    }

    private abstract static class Factory extends AbstractTokenFilterFactory {
        Factory(String name, Settings settings) {
            super(name, settings);
        }
    }
}
