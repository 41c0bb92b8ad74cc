"""Settings of the language-pair disambiguator's training (``pipelines/train_lid_disambiguator.py``).

Kept apart so the trainer and the model card (``pipelines/tools/lid_model_card.py``) read the same values.
"""

NB_PAIRS = (("ms", "id"), ("az", "tr"))
NGRAM_RANGE = (1, 4)       # char n-grams of each space-padded word
ALPHA = 0.5                # additive smoothing of the NB feature counts
MIN_COUNT = 2              # features seen fewer times (both classes together) are dropped
MIN_ABS_WEIGHT = 0.05      # |log-ratio| below this carries no information worth storing
MAX_FEATURES = 12000       # per pair, by |weight| * log(1 + count); keeps the JSON small
WEIGHT_DECIMALS = 2
NB_MAX_CHARS = 3000        # characters of a document the NB reads at inference
LID_FLOOR = 1e-4           # probability assumed for a pair label missing from lid.176's top-k
TOP_K = 5                  # lid.176 candidates, as operators.web.langid uses by default
FOLDS = 5                  # out-of-fold NB scores for the calibration
HELD_OUT_EVERY = 5         # every 5th NTREX document / Leipzig sentence is held out
HELD_OUT_INDEX = 4
L2 = 1.0                   # ridge on the calibration weights (keeps az/tr, which is separable, finite)

# Leipzig's Malay corpus is web text from .my *and* many Indonesian sites (``karena``, ``bahwa``
# in 'Malay' sentences); its labels are noisy.  Leipzig sentences of a NB pair are therefore kept
# for training only when a model trained on (clean, professionally translated) NTREX alone does not
# confidently contradict their label: P(label) >= LEIPZIG_MIN_AGREE.
LEIPZIG_MIN_AGREE = 0.2

# ne/hi.  Hindi-only function words (copula, past tense, postpositions, conjunctions, pronouns)
# that Nepali does not use; any of them blocks hi -> ne.  Candidates seen in more than
# BLOCKER_MAX_NE NTREX Nepali training sentences are dropped from the list automatically.
HINDI_ONLY = (
    "है", "हैं", "था", "थी", "थे", "में", "और", "भी", "नहीं", "गया", "गई", "गए", "किया", "किए",
    "रहा", "रही", "रहे", "हुआ", "हुई", "हुए", "यह", "वह", "इस", "उस", "इसे", "उसे", "से", "ने",
    "लिए", "करने", "करते", "करता", "होता", "होती", "होगा", "होगी", "सकता", "सकते", "जाता", "जाती",
    "अपने", "अपनी", "बहुत", "लेकिन", "क्योंकि", "उन्होंने", "कहा", "हम", "मैं", "आप", "हूं", "हूँ",
    "तक", "ये", "वे", "जैसे", "कुछ", "सभी", "बाद", "साथ", "पहले", "अगर", "तो", "वाले", "वाली",
)
BLOCKER_MAX_NE = 1
# Frequent NTREX Nepali words that cannot serve as Nepali markers: words that are also ordinary
# Hindi (को/का/के/की, कि, एक, हो, उनको, मात्र, Sanskrit-register nouns such as प्रयोग, प्राप्त),
# Hindi spellings that lose their nukta in careless typing (बढी = बढ़ी), names and abbreviations.
NOT_NE_MARKERS = (
    "को", "का", "के", "की", "कि", "एक", "तर", "वा", "यस", "म", "द", "अफ", "जो", "जब", "सन्", "श्री",
    "हो", "ले", "उनको", "उसको", "मात्र", "पटक", "बढी", "जना", "थप", "नै", "पर", "न", "तथा", "पछि",
    "दिन", "काम", "नाम", "समय", "वर्ष", "चार", "तीन", "अब", "गत", "यदि", "उक्त", "अनुसार", "उच्च",
    "प्राप्त", "प्रयोग", "जारी", "कारण", "उत्तर", "अन्य", "अन्तिम", "परिवर्तन", "आरोप", "विश्वास",
    "रिपोर्ट", "प्रतिशत", "घोषणा", "संयुक्त", "राष्ट्रपति", "अमेरिकी", "ट्रम्पले",
    # One marker is enough to relabel, so short words that a Hindi text could contain by a typo
    # (मा = माँ, जुन = जून, देखि = देखी), in dialect / literary Hindi (यो, भए) or that are also
    # Marathi (मध्ये, पहिले) are left out too.
    "मा", "यो", "भए", "ती", "बाट", "गरी", "हुन", "उनी", "उनि", "देखि", "जुन", "मध्ये", "पहिले",
)
NE_MARKERS_TOP = 150       # markers: these most frequent NTREX Nepali words, minus NOT_NE_MARKERS
NE_MIN_MARKERS = 1         # distinct marker words needed to relabel hi -> ne

ZH_MIN_HAN = 2
