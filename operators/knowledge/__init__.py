"""Knowledge data (paper §3.1.3: mQA, STEM, math and code sets): ``reader.py`` turns exported Hugging Face
datasets into documents with one text layout; ``quality_presets.py`` says which quality rules fit which kind
of data. ``pipelines/knowledge/`` runs them."""
