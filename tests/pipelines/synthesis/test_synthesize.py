"""Synthetic data (pipelines/synthesize.py) against a local OpenAI-compatible endpoint
(tests/fixtures/local_chat_endpoint.py) that answers with real text in the requested language: NTREX-128 and
Leipzig sentences. By a digest of the prompt it sometimes answers in another language, sometimes plants a
FLORES-200 dev sentence (the decontamination benchmark), sometimes fails the first try with HTTP 429 or 500,
and sometimes always fails. The expected outcome of every prompt is derived from the same digest, so the
counts per reason are checked exactly."""

from __future__ import annotations

import hashlib
import json
import random
import re
import time

import pyarrow.parquet as pq
import pytest
import yaml

from common.config_check import ConfigError
from common.languages import FLORES_CODES
from operators.parallel.translation_templates import LANGUAGE_NAMES
from pipelines.preferences.generation import ChatClient, Endpoint, RetryPolicy
from pipelines.synthesis import job as synthesis_job
from pipelines.synthesis.config import load_synthesis_config
from pipelines.synthesis.journal import Journal
from pipelines.synthesis.keywords import Keyword, KeywordGroups, dedupe, parse_keywords, read_pool
from pipelines.synthesis.plan import Plan, few_shot_documents, keyword_documents, translation_documents
from pipelines.synthesis.templates import EXPLANATION_TEMPLATE, STORY_TEMPLATE
from tests.fixtures.local_chat_endpoint import Error, LocalChatEndpoint
from tests.fixtures.shared_data import shared_path

LANGS = ["en", "de", "zh", "ru"]
WRONG = {"en": "de", "de": "fr", "zh": "ru", "ru": "en", "fr": "en"}
CODE_OF_NAME = {name: code for code, name in LANGUAGE_NAMES.items()}
_REQUESTED = re.compile(r"(?:Should be written in|Write your answer in|must be written in|into) ([A-Z][a-z]+)\.")
_TERMINAL = ("。", ".", "!", "?", "！", "？")


# -- the fake endpoint's behaviour ------------------------------------------------------------------------
def behaviour(prompt: str) -> str:
    """What the endpoint does with a prompt: normal, wrong_language, contaminated, busy_once (429, then an
    answer), error_once (500, then an answer) or broken (500 every time)."""
    if prompt.startswith("List "):
        return "keywords"
    bucket = int(hashlib.sha256(prompt.encode("utf-8")).hexdigest(), 16) % 20
    return {0: "wrong_language", 1: "wrong_language", 2: "contaminated", 3: "contaminated", 4: "busy_once",
            5: "busy_once", 6: "error_once", 7: "broken"}.get(bucket, "normal")


def expected_reason(prompt: str):
    return {"wrong_language": "synth:wrong_language", "contaminated": "contaminated:flores",
            "broken": "synth:request_failed"}.get(behaviour(prompt))


class Texts:
    """Clean sentences per language (NTREX lines 1000 on, Leipzig lines 600 on: not FLORES) and FLORES dev."""

    def __init__(self) -> None:
        self.clean, self.flores = {}, {}
        for lang in set(LANGS) | set(WRONG.values()):
            with open(shared_path("ntrex128", f"{FLORES_CODES[lang]}.txt"), encoding="utf-8") as handle:
                lines = [line.strip() for line in handle][1000:1600]
            leipzig = shared_path("mono_leipzig_lingua", f"{lang}.txt")
            lines += [line.strip() for line in leipzig.open(encoding="utf-8")][600:1200]
            self.clean[lang] = [line for line in lines if line.endswith(_TERMINAL) and len(line) > 20]
            with open(shared_path("flores200_dev", f"{FLORES_CODES[lang]}.dev"), encoding="utf-8") as handle:
                self.flores[lang] = [line.strip() for line in handle]

    def document(self, lang: str, rng: random.Random, sentences: int = 8) -> list:
        return rng.sample(self.clean[lang], sentences)

    def join(self, lang: str, sentences: list) -> str:
        return ("" if lang in ("zh", "ja") else " ").join(sentences)


def make_respond(texts: Texts):
    def respond(body: dict, attempt: int):
        prompt = body["messages"][-1]["content"]
        kind = behaviour(prompt)
        rng = random.Random(prompt)
        if kind == "keywords":
            subject = re.search(r"keywords of (.+?):", prompt).group(1)
            part = re.search(r"This is list (\d+) of", prompt)
            start = 8 * (int(part.group(1)) - 1) if part else 0
            count = int(re.match(r"List (\d+)", prompt).group(1)) + 2     # two more than asked for
            lines = ["Here are the keywords:"] + [f"{i + 1}. **{subject.title()} idea {start + i}** - a short gloss"
                                                  for i in range(count)]
            return "\n".join(lines)
        if kind == "broken" or (kind == "error_once" and attempt == 0):
            return Error(500)
        if kind == "busy_once" and attempt == 0:
            return Error(429, {"Retry-After": "0"})
        lang = CODE_OF_NAME[_REQUESTED.search(prompt).group(1)]
        short = prompt.startswith("Translate")
        if kind == "wrong_language":
            lang = WRONG[lang]
        sentences = texts.document(lang, rng, 3 if short else 8)
        if kind == "contaminated":
            sentences.insert(2, rng.choice(texts.flores[lang]))
        return texts.join(lang, sentences)

    return respond


# -- the run's inputs and config -------------------------------------------------------------------------
def write_inputs(folder, texts: Texts) -> dict:
    english = texts.clean["en"]
    samples = [{"id": f"s{i}", "text": texts.join(lang, texts.clean[lang][40 + 8 * i:48 + 8 * i]), "lang": lang,
                "domain": "news"} for i, lang in enumerate(LANGS * 2)]
    samples.append({"id": "empty", "text": "  ", "lang": "en"})
    samples.append({"id": "xx", "text": "Lorem ipsum.", "lang": "xx"})
    (folder / "samples.jsonl").write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples))
    records = [{"id": f"r{i}", "instruction": "Summarize the following news sentence in one line.",
                "input": english[200 + i], "output": english[300 + i]} for i in range(10)]
    records.append({"id": "r0", "instruction": "A duplicate id.", "output": "Ignored."})
    records.append({"id": "nothing", "other": "no mapped field"})
    lines = [json.dumps(r, ensure_ascii=False) for r in records] + ["{not json"]
    (folder / "records.jsonl").write_text("\n".join(lines) + "\n")
    return {"samples": str(folder / "samples.jsonl"), "records": str(folder / "records.jsonl")}


def config_data(url: str, inputs: dict, **changes) -> dict:
    data = {
        "endpoint": {"url": url, "model": "local-synth", "timeout": 30, "max_tokens": 512},
        "requests": {"attempts": 3, "backoff": 0.01, "max_backoff": 0.05, "concurrency": 4},
        "seed": 7,
        "languages": LANGS,
        "keywords": {"subjects": ["physics", "history"], "per_subject": 12, "per_request": 8, "per_prompt": 2},
        "explanation": {"prompts": 14},
        "story": {"prompts": 14, "attributes": {"role_2": ["high school students", "adult learners"]}},
        "few_shot": {"prompts": 6, "samples": [inputs["samples"]], "shots": 2},
        "translation": {"inputs": [inputs["records"]], "target_languages": ["de", "zh", "ru"]},
        "batch_size": 16,
    }
    if "decontamination" not in changes:
        data["decontamination"] = {"benchmarks": [{"name": "flores", "path": str(shared_path("flores200_dev")),
                                                   "format": "flores", "lang": ",".join(sorted(set(LANGS) | {"fr"}))}]}
    for key, value in changes.items():
        data[key] = value
    return data


def load(tmp_path, data: dict, name: str = "synth.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return load_synthesis_config(str(path)), str(path)



@pytest.fixture(scope="module")
def texts():
    return Texts()


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, texts):
    """One uninterrupted run: its output folder, config data, inputs and the requests the endpoint saw."""
    folder = tmp_path_factory.mktemp("full")
    inputs = write_inputs(folder, texts)
    with LocalChatEndpoint(make_respond(texts)) as endpoint:
        data = config_data(endpoint.url, inputs)
        config, _ = load(folder, data)
        started = time.monotonic()
        stats = synthesis_job.synthesize(config, str(folder / "out"))
        seconds = time.monotonic() - started
        prompts = endpoint.prompts()
    return {"out": folder / "out", "data": data, "inputs": inputs, "stats": stats.to_dict(), "prompts": prompts,
            "seconds": seconds, "folder": folder}


def _journal(path) -> dict:
    """prompt_id -> the latest complete record of a journal."""
    records = {}
    for line in path.read_bytes().split(b"\n"):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        records[record["prompt_id"]] = record
    return records


def _output(out, without: str = "") -> dict:
    rows = {}
    for path in sorted(out.glob("synthetic_*/part-00000.parquet")):
        for row in pq.read_table(path).to_pylist():
            rows[row["id"]] = {k: v for k, v in row.items() if k != without}
    return rows


# -- tests -------------------------------------------------------------------------------------------------
def test_end_to_end_counts_per_reason(full_run):
    out, stats = full_run["out"], full_run["stats"]
    journal = _journal(out / "_work" / "responses.jsonl")
    expected = {}
    kept_ids = set()
    for prompt_id, record in journal.items():
        reason = expected_reason(record["prompt"])
        document = prompt_id.split("/")[0]
        if reason:
            expected[reason] = expected.get(reason, 0) + 1
        else:
            kept_ids.add(document)
    assert all(expected.get(r) for r in ("synth:wrong_language", "contaminated:flores", "synth:request_failed"))
    operators = {op["name"]: op for op in stats["operators"]}
    assert [op["name"] for op in stats["operators"]] == ["synth_inputs", "synthesis", "langid", "quality",
                                                        "decontamination"]
    # 14 + 14 keyword prompts, 6 few-shot prompts, 10 records translated into one language each.
    assert operators["synthesis"]["docs_in"] == 44 == len(journal)
    assert operators["synthesis"]["dropped"] == {"synth:request_failed": expected["synth:request_failed"]}
    assert operators["langid"]["dropped"] == {"synth:wrong_language": expected["synth:wrong_language"]}
    assert operators["quality"]["dropped"] == {}
    assert operators["decontamination"]["dropped"] == {"contaminated:flores": expected["contaminated:flores"]}
    # Inputs: generated keywords (per subject a list of 10 and one of 6 that repeats 2 of the first: 12 kept,
    # 2 over per_subject), 10 samples (one empty, one in no target language), 13 records.
    assert operators["synth_inputs"]["docs_in"] == 32 + 10 + 13
    assert operators["synth_inputs"]["dropped"] == {
        "keywords:duplicate": 4, "keywords:over_per_subject": 4, "few_shot:no_text": 1,
        "few_shot:unknown_language": 1, "translation:duplicate_id": 1, "translation:no_fields": 1,
        "read:bad_json": 1}
    rows = _output(out)
    assert set(rows) == kept_ids
    assert sum(stats["kept_per_language"].values()) == len(rows)
    details = stats["details"]["synthesis"]
    assert details["http_retries"] >= 1 and details["requests_answered_before"] == 0
    busy = [p for p in full_run["prompts"] if behaviour(p) in ("busy_once", "error_once")]
    assert len(busy) == 2 * len({p for p in busy}) > 0            # asked once more after the 429 / 500
    assert sum(behaviour(p) == "broken" for p in full_run["prompts"]) == 3 * expected["synth:request_failed"]
    assert (out / "report.html").is_file() and json.loads((out / "stats.json").read_text())["operators"]
    assert full_run["seconds"] < 40


def test_output_rows_keep_prompt_template_attributes_and_model(full_run):
    out = full_run["out"]
    rows = _output(out)
    for lang in {row["lang"] for row in rows.values()}:
        table = pq.read_table(out / f"synthetic_{lang}" / "part-00000.parquet")
        columns = set(table.column_names)
        assert {"id", "text", "lang", "prompt_id", "template", "attributes", "model", "source"} <= columns
        assert set(table.column("lang").to_pylist()) == {lang}
    templates = {row["template"] for row in rows.values()}
    assert templates == {"explanation", "story", "few_shot", "translation"}
    journal = _journal(out / "_work" / "responses.jsonl")
    for row in rows.values():
        assert row["model"] == "local-synth" and row["text"].strip()
        attributes = json.loads(row["attributes"])
        first_prompt = row["prompt_id"].split(",")[0]
        assert journal[first_prompt]["attributes"] == attributes
        if row["template"] == "story":
            assert set(attributes) >= {"role_1", "subject", "type_passage", "scene", "min_length", "max_length",
                                       "style", "role_2", "ending", "language", "keywords"}
            assert attributes["role_2"] in ("high school students", "adult learners")
            assert attributes["subject"] in ("physics", "history")
            assert row["lang"] == attributes["language"]
            assert f"Should be written in {LANGUAGE_NAMES[row['lang']]}." in journal[first_prompt]["prompt"]
        if row["template"] == "translation":
            assert row["source_id"].startswith("r") and row["src_lang"] == "en" and row["tgt_lang"] == row["lang"]
            assert row["tgt_lang"] in ("de", "zh", "ru") and len(attributes["translated"]) == 1
            assert row["source"] == full_run["inputs"]["records"]
        if row["template"] == "few_shot":
            assert len(attributes["shots"]) == 2 and attributes["language"] == row["lang"]
    pool = [json.loads(line) for line in (out / "_work" / "keywords.jsonl").read_text().splitlines()]
    assert len(pool) == 24 and {k["subject"] for k in pool} == {"physics", "history"}


def test_interrupted_run_resumes_without_asking_again(full_run, texts, tmp_path, monkeypatch):
    inputs = write_inputs(tmp_path, texts)
    out = tmp_path / "out"
    original = Journal.append
    appended = []

    def interrupted(self, record):
        if self.path.endswith("/responses.jsonl") and len(appended) >= 20:
            raise KeyboardInterrupt
        original(self, record)
        if self.path.endswith("/responses.jsonl"):
            appended.append(record["prompt_id"])

    with LocalChatEndpoint(make_respond(texts)) as endpoint:
        config, _ = load(tmp_path, config_data(endpoint.url, inputs))
        monkeypatch.setattr(Journal, "append", interrupted)
        with pytest.raises(KeyboardInterrupt):
            synthesis_job.synthesize(config, str(out))
        monkeypatch.setattr(Journal, "append", original)
        journal_path = out / "_work" / "responses.jsonl"
        with open(journal_path, "ab") as handle:   # the process died in the middle of a line
            handle.write(b'{"prompt_id": "story-000003", "prompt_sha": "x", "respo')
        answered = {r["prompt"] for r in _journal(journal_path).values() if isinstance(r.get("response"), str)}
        assert len(answered) >= 15
        before = len(endpoint.requests)
        stats = synthesis_job.synthesize(config, str(out)).to_dict()
        asked_again = endpoint.prompts()[before:]
        assert not answered & set(asked_again)
        assert all(json.loads(line) for line in journal_path.read_text().splitlines())   # the cut line is gone
        # ... and the 4 keyword-pool requests were answered before too.
        assert stats["details"]["synthesis"]["requests_answered_before"] == len(answered) + 4
        # Resumed output is what one uninterrupted run makes (but for the input folder in source).
        assert _output(out, without="source") == _output(full_run["out"], without="source")
        assert {op["name"]: op["dropped"] for op in stats["operators"]} == \
            {op["name"]: op["dropped"] for op in full_run["stats"]["operators"]}
        # A third run asks only what failed for good.
        before = len(endpoint.requests)
        synthesis_job.synthesize(config, str(out))
        assert {behaviour(p) for p in endpoint.prompts()[before:]} <= {"broken"}
        # Other settings need --overwrite, which starts afresh: everything is asked again.
        other, _ = load(tmp_path, config_data(endpoint.url, inputs, seed=8), "other.yaml")
        with pytest.raises(ConfigError, match="seed: 7 → 8"):
            synthesis_job.synthesize(other, str(out))
        stats = synthesis_job.synthesize(other, str(out), overwrite=True).to_dict()
        assert stats["details"]["synthesis"]["requests_answered_before"] == 0
        assert json.loads((out / "_plan.json").read_text())["settings"]["seed"] == 8


def plain_inputs(folder) -> dict:
    """Inputs of made-up text, for the tests that ask no endpoint (and need no shared data)."""
    samples = [{"id": f"s{i}", "text": f"Sample number {i} about {topic}.", "lang": lang, "domain": topic}
               for i, (lang, topic) in enumerate([("en", "math"), ("en", "math"), ("de", "math"), ("en", "code"),
                                                  ("de", "math"), ("en", "math")])]
    (folder / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    records = [{"id": "a/1", "instruction": "Add the numbers.", "input": "2 and 3", "output": "5"},
               {"id": "a_1", "instruction": "Name a colour.", "output": "Blue", "lang": "de"}]
    (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return {"samples": str(folder / "samples.jsonl"), "records": str(folder / "records.jsonl")}


def test_attributes_are_drawn_by_the_seed(tmp_path):
    data = config_data("http://127.0.0.1:1/v1", plain_inputs(tmp_path), decontamination={})
    config, _ = load(tmp_path, data)
    pool = [Keyword(f"term {i}", "physics" if i % 2 else None) for i in range(30)]

    def documents(cfg):
        return {d.id: d for d in keyword_documents(cfg, pool, "pool.txt")}

    first, again = documents(config), documents(load(tmp_path, data, "again.yaml")[0])
    assert {k: (d.attributes, d.requests[0].prompt) for k, d in first.items()} == \
        {k: (d.attributes, d.requests[0].prompt) for k, d in again.items()}
    other = documents(load(tmp_path, {**data, "seed": 8}, "other.yaml")[0])
    assert sum(first[k].attributes != other[k].attributes for k in first) >= len(first) // 2
    # Each attribute is drawn on its own: another list of scenes changes no other attribute.
    scenes = documents(load(tmp_path, {**data, "attributes": {**config.attributes, "scene": ["a mine", "a ship"]}},
                            "scenes.yaml")[0])
    for key, document in first.items():
        changed = {k for k in document.attributes if document.attributes[k] != scenes[key].attributes.get(k)}
        assert changed <= {"scene"}
        if document.template == "story":
            assert scenes[key].attributes["scene"] in ("a mine", "a ship")
    story = first["story-000000"]
    assert story.requests[0].prompt.startswith(STORY_TEMPLATE.split("{role_1}")[0])
    assert "(3) Should be between {min_length} and {max_length} words in length;".format(**story.attributes) \
        in story.requests[0].prompt
    explanation = first["explanation-000000"]
    assert explanation.requests[0].prompt.startswith(EXPLANATION_TEMPLATE.split("{role_1}")[0])
    assert "(4) Summarize the explanations." in explanation.requests[0].prompt
    # Every keyword is used once before any is used twice.
    groups = KeywordGroups(pool, 2, 7, "story")
    used = [k.keyword for i in range(groups.sets_per_pass) for k in groups(i)]
    assert sorted(used) == sorted(k.keyword for k in pool)
    shots = few_shot_documents(config, Plan())
    samples = {json.loads(line)["id"]: json.loads(line) for line in open(config.few_shot.samples[0])}
    assert [d.attributes for d in shots] == [d.attributes for d in few_shot_documents(config, Plan())]
    for document in shots:
        assert "Given Sample:\n(1) " in document.requests[0].prompt
        assert document.requests[0].prompt.endswith("Created Sample:")
        given = [samples[i] for i in document.attributes["shots"]]
        assert len({s["id"] for s in given}) == len(given) >= 1         # one language and domain per prompt
        assert {(s["lang"], s["domain"]) for s in given} == {(document.lang, document.attributes["domain"])}


def test_translation_plan(tmp_path):
    inputs = plain_inputs(tmp_path)
    data = config_data("http://127.0.0.1:1/v1", inputs, decontamination={})
    for mode, requests_per_document in (("one", 1), ("all", None)):
        data["translation"] = {"inputs": [inputs["records"]], "target_languages": ["de", "zh", "ru"],
                               "languages_per_record": 2, "translate": mode}
        config, _ = load(tmp_path, data)
        plan = Plan()
        documents = translation_documents(config, plan)
        assert plan.inputs_read == 2 and not plan.input_reasons
        assert len(documents) == 4 and len({d.id for d in documents}) == 4      # "a/1" and "a_1" stay apart
        for document in documents:
            assert document.src_lang == ("de" if document.source_id == "a_1" else "en")
            assert document.tgt_lang != document.src_lang and document.lang == document.tgt_lang
            count = requests_per_document or len(document.parts)
            assert len(document.requests) == count == len(document.attributes["translated"])
            assert all(r.prompt_id.startswith(document.id + "/") for r in document.requests)
            assert f"into {LANGUAGE_NAMES[document.tgt_lang]}." in document.requests[0].prompt
        assert [d.requests[0].prompt for d in translation_documents(config, Plan())] == \
            [d.requests[0].prompt for d in documents]


def test_keyword_pools_from_files(tmp_path):
    (tmp_path / "pool.txt").write_text("# a comment\nEntropy\n\n entropy \nPhotosynthesis\n")
    kept, reasons = dedupe(read_pool(str(tmp_path / "pool.txt")))
    assert [k.keyword for k in kept] == ["Entropy", "Photosynthesis"] and reasons == {"keywords:duplicate": 1}
    (tmp_path / "pool.jsonl").write_text("\n".join([
        json.dumps({"keyword": "Entropie", "subject": "physics", "language": "de"}),
        json.dumps({"keyword": "Entropy", "subject": "physics"}),
        json.dumps({"keyword": "熵", "language": "xx"}),
        json.dumps({"subject": "no keyword"}), "{broken"]) + "\n")
    kept, reasons = dedupe(read_pool(str(tmp_path / "pool.jsonl")), ["en", "de"])
    assert kept == [Keyword("Entropie", "physics", "de"), Keyword("Entropy", "physics", None)]
    assert reasons == {"keywords:unknown_language": 1, "keywords:empty": 1, "read:bad_json": 1}
    reply = ("Here are 4 keywords of physics:\n1. **Entropy** - a measure of disorder\n2) Quantum tunneling\n"
             "- \"Lorentz force\"\n* Heat capacity: the heat needed\nThis line is a long sentence that explains "
             "nothing at all and is surely no keyword.\n")
    assert parse_keywords(reply) == ["Entropy", "Quantum tunneling", "Lorentz force", "Heat capacity"]


def test_client_retries_transient_failures_only():
    def respond(body, attempt):
        text = body["messages"][-1]["content"]
        if text == "busy" and attempt < 2:
            return Error(429, {"Retry-After": "0"})
        if text == "bad":
            return Error(400)
        return "ok"

    with LocalChatEndpoint(respond) as endpoint:
        client = ChatClient(Endpoint(endpoint.url, "m"), RetryPolicy(attempts=3, backoff=0.01))
        assert client.chat([{"role": "user", "content": "busy"}], 0.0) == "ok"
        assert client.requests == 3 and client.retries == 2
        with pytest.raises(Exception) as failure:
            client.chat([{"role": "user", "content": "bad"}], 0.0)
        assert getattr(failure.value, "code", None) == 400 and client.requests == 4   # a 400 is not retried
        limited = ChatClient(Endpoint(endpoint.url, "m"), RetryPolicy(requests_per_minute=600, concurrency=4))
        started = time.monotonic()
        answers = list(limited.map(lambda i: limited.chat([{"role": "user", "content": str(i)}], 0.0), range(6)))
        assert sorted(i for i, _ in answers) == list(range(6)) and time.monotonic() - started >= 0.45


def test_rerun_with_other_settings_and_bad_configs_are_one_error(full_run, tmp_path, capsys):
    data = full_run["data"]
    config, _ = load(tmp_path, {**data, "seed": 99})
    with pytest.raises(ConfigError, match="seed: 7 → 99"):
        synthesis_job.synthesize(config, str(full_run["out"]))
    for change, message in [({"endpoint": {**data["endpoint"], "url": "localhost:8000"}}, "endpoint.url: expected"),
                            ({"endpoint": {**data["endpoint"], "model": ""}}, "endpoint.model"),
                            ({"languages": ["en", "xx"]}, "languages: 'xx'"),
                            ({"story": {"prompts": 1, "tone": 3}}, "unknown config key story.tone"),
                            ({"keywords": {"path": str(tmp_path / "missing.txt")}}, "keywords.path: file not found"),
                            ({"decontamination": {"action": "cut"}}, "only drop applies")]:
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump({**data, **change}))
        assert synthesis_job.main(["--config", str(path), "--output", str(tmp_path / "o")]) == 2
        assert message in capsys.readouterr().err
    # Nothing listens there: one error before any work.
    path = tmp_path / "closed.yaml"
    path.write_text(yaml.safe_dump({**data, "endpoint": {**data["endpoint"], "url": "http://127.0.0.1:9/v1"},
                                    "keywords": {"path": str(tmp_path / "pool.txt")}}))
    (tmp_path / "pool.txt").write_text("Entropy\nPhotosynthesis\n")
    assert synthesis_job.main(["--config", str(path), "--output", str(tmp_path / "closed")]) == 2
    assert "endpoint.url: nothing answers at http://127.0.0.1:9/v1" in capsys.readouterr().err
    assert not (tmp_path / "closed" / "_work" / "responses.jsonl").exists()
    # An endpoint that refuses every request (a model it does not serve) stops the run after a few.
    with LocalChatEndpoint(lambda body, attempt: Error(404)) as endpoint:
        path.write_text(yaml.safe_dump({**data, "endpoint": {**data["endpoint"], "url": endpoint.url},
                                        "keywords": {"path": str(tmp_path / "pool.txt")},
                                        "max_consecutive_failures": 5}))
        assert synthesis_job.main(["--config", str(path), "--output", str(tmp_path / "refused")]) == 2
        assert "endpoint: 5 requests in a row" in capsys.readouterr().err
        assert len(endpoint.requests) < 5 + 4      # 404 is not retried; at most the requests in flight more


def test_synthetic_groups_reach_both_stage_blends(full_run, tmp_path):
    from pipelines.mixture.build import build_mixture
    from pipelines.mixture.tokenize_shards import tokenize_shards

    tokenize_shards([str(full_run["out"])], str(tmp_path / "tokens"), in_process=True)
    groups = {p.parent.name for p in full_run["out"].glob("synthetic_*/*.parquet")}
    assert groups
    for stage in (1, 2):
        blend = build_mixture(stage, str(tmp_path / "tokens"), str(tmp_path / "blends"))
        assert {entry["group"] for entry in blend["entries"]} == groups
