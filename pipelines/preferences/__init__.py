"""DPO preference pairs (``pipelines/build_preferences.py``): from existing data or generated and judged through
OpenAI-compatible endpoints (``generation.py``); the job is ``build.py``."""
