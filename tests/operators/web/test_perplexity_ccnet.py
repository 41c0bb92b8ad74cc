"""cc_net's published model layout: ``<lang>.arpa.bin`` + ``<lang>.sp.model``, no model card.

cc_net tokenizes with SentencePiece after its own normalization, which strips every accent. A small
SentencePiece model and a KenLM model in that layout are built here from German Leipzig sentences;
the filter must read them the cc_net way and score documents as cc_net's ``DocLM`` does.
"""

import os
import subprocess

import pyarrow as pa
import pytest

from common.lm_text import normalize
from operators.web.perplexity import LanguageModel, PerplexityConfig, PerplexityFilter, load_language_model
from pipelines.tools.train_kenlm import kenlm_tool
from tests.fixtures.shared_data import shared_path


@pytest.fixture(scope="module")
def ccnet_style_model(tmp_path_factory):
    import sentencepiece

    sentences = shared_path("mono_leipzig_lingua", "de.txt").read_text(encoding="utf-8").splitlines()[:800]
    model_dir = tmp_path_factory.mktemp("ccnet")
    normalized = [" ".join(normalize(s, strip_all_accents=True).split()) for s in sentences]
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(normalized), model_prefix=str(model_dir / "de.sp"), vocab_size=800,
        model_type="unigram", minloglevel=2, num_threads=1,
    )
    sp = sentencepiece.SentencePieceProcessor(model_file=str(model_dir / "de.sp.model"))
    corpus = model_dir / "corpus.txt"
    corpus.write_text("\n".join(" ".join(sp.encode(s, out_type=str)) for s in normalized) + "\n", encoding="utf-8")
    arpa = model_dir / "de.arpa"
    with open(corpus, "rb") as stdin, open(arpa, "wb") as stdout:
        subprocess.run([kenlm_tool("lmplz"), "-o", "4", "-S", "5%", "--discount_fallback"], stdin=stdin,
                       stdout=stdout, stderr=subprocess.DEVNULL, check=True)
    subprocess.run([kenlm_tool("build_binary"), str(arpa), str(model_dir / "de.arpa.bin")],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    for leftover in (arpa, corpus, model_dir / "de.sp.vocab"):
        os.remove(leftover)
    return str(model_dir), sp


def test_ccnet_layout_is_read_with_ccnet_normalization_and_sentencepiece(ccnet_style_model):
    import kenlm

    model_dir, sp = ccnet_style_model
    model = load_language_model(model_dir, "de")
    assert isinstance(model, LanguageModel) and model.ccnet_normalization and model.sentencepiece is not None

    doc = "Die Bürger müssen über 12 Änderungen abstimmen.\n\nÖffentliche Verkehrsmittel fahren häufiger."
    # cc_net's DocLM by hand: normalize (accents stripped, digits -> 0), SentencePiece, score each line.
    raw = kenlm.Model(os.path.join(model_dir, "de.arpa.bin"))
    total, length = 0.0, 0
    for line in doc.split("\n"):
        line = " ".join(normalize(line, strip_all_accents=True).split())
        if not line:
            continue
        pieces = sp.encode(line, out_type=str)
        total += raw.score(" ".join(pieces), bos=True, eos=True)
        length += len(pieces) + 1
    assert normalize("Über 12", strip_all_accents=True) == "uber 00"
    assert model.perplexity(doc) == pytest.approx(10 ** (-total / length))


def test_filter_runs_on_ccnet_models_without_cutoffs_and_says_so(ccnet_style_model):
    model_dir, _ = ccnet_style_model
    op = PerplexityFilter(PerplexityConfig(model_dir=model_dir))
    op.setup()
    outcome = op.process(pa.table({"text": ["Ein Satz über das Wetter.", "A sentence."], "lang": ["de", "en"]}))
    assert outcome.reasons == [None, None]
    assert outcome.notes == ["ppl:no_cutoff", "ppl:no_model"]
    ppl = outcome.table.column("ppl").to_pylist()
    assert ppl[0] is not None and ppl[0] > 1 and ppl[1] is None
