"""The perplexity tools say what they do: ``train_reference_lms.py`` reports each language as it finishes, and
``derive_ppl_cutoffs.py`` gives every language of the sample its cutoffs or the reason it has none, refuses
degenerate cutoffs, and never replaces a cutoffs file with an empty one."""

import os

import pyarrow.parquet as pq
import pytest
import yaml

from pipelines.tools.derive_ppl_cutoffs import main as derive_main
from pipelines.tools.reference_documents import document_table, documents
from pipelines.tools.train_reference_lms import main as train_main
from pipelines.tools.train_reference_lms import train_all
from tests.fixtures.shared_data import shared_path

LANGUAGES = ("de", "ja")


@pytest.fixture(scope="module")
def small_models(tmp_path_factory):
    """Models for two languages only (a few seconds), and the progress lines their training printed."""
    from pipelines.tools.train_kenlm import kenlm_tool

    try:
        kenlm_tool("lmplz")
    except Exception as exc:  # the setup command builds it
        pytest.fail(f"{exc}")
    output = tmp_path_factory.mktemp("kenlm")
    lines = []
    train_all(str(shared_path("ntrex128").parent), str(output), languages=LANGUAGES, progress=lines.append)
    return str(output), lines


def write_sample(root, docs_per_language):
    for lang, docs in docs_per_language.items():
        os.makedirs(root / lang, exist_ok=True)
        pq.write_table(document_table("ntrex", lang, docs), root / lang / "part-0000.parquet")
    return str(root)


def ntrex(lang, count):
    return documents("ntrex", str(shared_path("ntrex128").parent), lang)[:count]


def test_training_reports_every_language(small_models):
    output, lines = small_models
    assert lines[0].startswith("training 2 KenLM models from ")
    assert lines[1].startswith("[1/2] de: ") and lines[2].startswith("[2/2] ja: ")
    assert "training sentences" in lines[1] and "held out" in lines[1]
    assert os.path.join(output, "de.arpa.bin") in lines[1] and "chars tokens" in lines[2]
    assert sorted(n for n in os.listdir(output) if n.endswith(".arpa.bin")) == ["de.arpa.bin", "ja.arpa.bin"]


def test_training_an_unknown_language_is_one_error(tmp_path, capsys):
    assert train_main(["--data", str(shared_path("ntrex128").parent), "--output", str(tmp_path),
                       "--languages", "de", "xx"]) == 2
    assert "--languages: xx not among the 29 target languages" in capsys.readouterr().err


def test_a_readme_sized_sample_says_per_language_why_no_cutoff(small_models, tmp_path, capsys):
    models, _ = small_models
    sample = write_sample(tmp_path / "sample", {"de": ntrex("de", 12), "ja": ntrex("ja", 9), "fr": ntrex("fr", 5)})
    output = tmp_path / "cutoffs.yaml"
    output.write_text("cutoffs: {de: {head: 1, tail: 2, max: 3}}\n")  # an earlier, good file stays as it is
    assert derive_main(["--input", sample, "--models", models, "--output", str(output)]) == 2
    captured = capsys.readouterr()
    assert "de: no cutoff: 12 documents with a perplexity, fewer than --min-docs 50: give a larger sample or " \
           "--min-docs 12" in captured.out
    assert "ja: no cutoff: 9 documents with a perplexity" in captured.out
    assert f"fr: no cutoff: no model (fr.arpa.bin) in {models}" in captured.out
    assert f"cutoffs for no language of {sample} (see above why); {output} was not written" in captured.err
    assert output.read_text() == "cutoffs: {de: {head: 1, tail: 2, max: 3}}\n"


def test_min_docs_below_two_is_refused(small_models, tmp_path, capsys):
    models, _ = small_models
    sample = write_sample(tmp_path / "sample", {"de": ntrex("de", 3)})
    assert derive_main(["--input", sample, "--models", models, "--output", str(tmp_path / "c.yaml"),
                        "--min-docs", "1"]) == 2
    assert "--min-docs: must be at least 2" in capsys.readouterr().err
    assert not (tmp_path / "c.yaml").exists()


def test_degenerate_cutoffs_are_refused_and_small_samples_warned(small_models, tmp_path, capsys):
    models, _ = small_models
    # de: five copies of one document (one perplexity: head = tail = max); ja: 20 real documents.
    sample = write_sample(tmp_path / "sample", {"de": ntrex("de", 1) * 5, "ja": ntrex("ja", 20)})
    output = tmp_path / "cutoffs.yaml"
    assert derive_main(["--input", sample, "--models", models, "--output", str(output), "--min-docs", "2"]) == 0
    out = capsys.readouterr().out
    assert "de: no cutoff: degenerate cutoffs from 5 documents" in out and "head <= tail < max is needed" in out
    assert "ja: 20 documents -> head " in out
    assert "warning: ja: cutoffs from only 20 documents (fewer than 50): its percentiles are noisy" in out
    assert "none for 1 (de)" in out
    written = yaml.safe_load(output.read_text())
    assert set(written["cutoffs"]) == {"ja"}
    assert written["provenance"]["skipped"]["de"].startswith("degenerate cutoffs")
    values = written["cutoffs"]["ja"]
    assert 0 < values["head"] <= values["tail"] < values["max"]


def test_models_from_a_curated_output_cover_its_languages(tmp_path, capsys):
    """``--curated``: a model per language of a curate_cc.py output (the tour trains its models this way)."""
    from pipelines.tools.demo_warc import build_demo_warc
    from pipelines.web.config import load_config
    from pipelines.web.curate import curate

    curated = tmp_path / "sample"
    curate(load_config(None), [build_demo_warc(str(tmp_path / "demo.warc.gz"))], str(curated), in_process=True)
    languages = sorted(p.name for p in curated.iterdir() if p.is_dir() and not p.name.startswith("_"))
    assert train_main(["--curated", str(curated), "--output", str(tmp_path / "kenlm")]) == 0
    out = capsys.readouterr().out
    assert f"training {len(languages)} KenLM models" in out
    assert sorted(p.name.split(".")[0] for p in (tmp_path / "kenlm").glob("*.arpa.bin")) == languages
    assert train_main(["--curated", str(tmp_path / "absent"), "--output", str(tmp_path / "k2")]) == 2
    assert "--curated: folder not found" in capsys.readouterr().err
