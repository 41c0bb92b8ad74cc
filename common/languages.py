"""The 29 target languages of the Marco-LLM corpus (paper §3.1.5, Table 1), as ISO 639-1 codes.

These are also the labels fastText lid.176 uses for them.
"""

HIGH_RESOURCE = ("en", "zh", "ar", "de", "es", "fr", "ko", "ja", "pt", "tr")
LOW_RESOURCE = (
    "bn", "he", "id", "it", "ms", "nl", "pl", "ru", "th", "uk",
    "ur", "vi", "cs", "el", "hu", "kk", "ro", "az", "ne",
)
TARGET_LANGUAGES = HIGH_RESOURCE + LOW_RESOURCE

# File names of the FLORES-200 / NTREX-128 style corpora (ISO 639-3 + script) for each target.
FLORES_CODES = {
    "en": "eng_Latn", "zh": "zho_Hans", "ar": "arb_Arab", "de": "deu_Latn", "es": "spa_Latn",
    "fr": "fra_Latn", "ko": "kor_Hang", "ja": "jpn_Jpan", "pt": "por_Latn", "tr": "tur_Latn",
    "bn": "ben_Beng", "he": "heb_Hebr", "id": "ind_Latn", "it": "ita_Latn", "ms": "zsm_Latn",
    "nl": "nld_Latn", "pl": "pol_Latn", "ru": "rus_Cyrl", "th": "tha_Thai", "uk": "ukr_Cyrl",
    "ur": "urd_Arab", "vi": "vie_Latn", "cs": "ces_Latn", "el": "ell_Grek", "hu": "hun_Latn",
    "kk": "kaz_Cyrl", "ro": "ron_Latn", "az": "azj_Latn", "ne": "npi_Deva",
}
