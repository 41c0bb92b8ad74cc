"""Tools that derive settings and train models for the web pipeline (quality thresholds, stop words, perplexity
cutoffs, KenLM models, the language-pair disambiguator) and build the demo WARC."""
