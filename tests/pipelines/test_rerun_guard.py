"""Every pipeline's output folder remembers what made it (``_plan.json``): a rerun with the same inputs and
settings may reuse it, a rerun with other ones is one clear error naming the change (exit 2, the old output
untouched), and ``--overwrite`` starts afresh. Web curation has its own tests in tests/pipelines/web/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.shared_data import ntrex_sentences


def _sft_inputs(folder: Path) -> list:
    prompts, replies = ntrex_sentences("eng_Latn.txt", 12), ntrex_sentences("deu_Latn.txt", 12)
    with open(folder / "sft.jsonl", "w", encoding="utf-8") as handle:
        for prompt, reply in zip(prompts, replies):
            handle.write(json.dumps({"instruction": f"Translate into German: {prompt}", "output": reply},
                                    ensure_ascii=False) + "\n")
    return [str(folder / "sft.jsonl")]


def _preference_inputs(folder: Path) -> list:
    english, german = ntrex_sentences("eng_Latn.txt", 10), ntrex_sentences("deu_Latn.txt", 10)
    with open(folder / "pairs.jsonl", "w", encoding="utf-8") as handle:
        for i, (source, target) in enumerate(zip(english, german)):
            handle.write(json.dumps({"prompt": f"Translate into German: {source}", "chosen": target,
                                     "rejected": german[(i + 1) % len(german)]}, ensure_ascii=False) + "\n")
    return [str(folder / "pairs.jsonl")]


def _parallel_inputs(folder: Path) -> list:
    english, german = ntrex_sentences("eng_Latn.txt", 60), ntrex_sentences("deu_Latn.txt", 60)
    (folder / "news.en-de.tsv").write_text("\n".join(f"{s}\t{t}" for s, t in zip(english, german)) + "\n",
                                           encoding="utf-8")
    return [str(folder / "news.en-de.tsv")]


def _run_sft(inputs, out, config, extra):
    from pipelines.sft.curate import main

    return main(["--input", *inputs, "--output", out, "--in-process", *(["--config", config] if config else []),
                 *extra])


def _run_preferences(inputs, out, config, extra):
    from pipelines.preferences.build import main

    temperatures = ["--temperatures", "0.5", "0.9"] if config else []
    return main(["--input", *inputs, "--output", out, *temperatures, *extra])


def _run_parallel(inputs, out, config, extra):
    from pipelines.parallel.curate import main

    return main(["--input", *inputs, "--src", "en", "--tgt", "de", "--output", out, "--in-process",
                 *(["--config", config] if config else []), *extra])


# name: (inputs, run, YAML of a changed setting (None: the run function changes one itself), expected change)
CASES = {
    "curate_sft": (_sft_inputs, _run_sft, "cleaning:\n  rules: [html, url]\n", "settings.cleaning.rules"),
    "build_preferences": (_preference_inputs, _run_preferences, None, "settings.generation.temperatures"),
    "curate_parallel": (_parallel_inputs, _run_parallel, "pair_filter:\n  max_chars: 900\n",
                        "settings.pair_filter.max_chars: 1050 → 900"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rerun_with_changed_settings_or_inputs_is_refused(name, tmp_path, capsys):
    make_inputs, run, changed_yaml, expected = CASES[name]
    inputs = make_inputs(tmp_path)
    out = str(tmp_path / "out")
    assert run(inputs, out, None, []) == 0
    stats = (Path(out) / "stats.json").read_text()
    assert run(inputs, out, None, []) == 0  # the same inputs and settings: fine

    config = None
    if changed_yaml is not None:
        config = str(tmp_path / "changed.yaml")
        Path(config).write_text(changed_yaml)
    else:
        config = "changed"
    capsys.readouterr()
    assert run(inputs, out, config, []) == 2
    err = capsys.readouterr().err
    assert expected in err and "--overwrite" in err, err
    assert (Path(out) / "stats.json").read_text() == stats

    # A rewritten input file (same name) is a change too.
    Path(inputs[0]).write_text(Path(inputs[0]).read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert run(inputs, out, None, []) == 2
    assert "inputs[0]" in capsys.readouterr().err
    assert run(inputs, out, None, ["--overwrite"]) == 0
    assert run(inputs, out, None, []) == 0
