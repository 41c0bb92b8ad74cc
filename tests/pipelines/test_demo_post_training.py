"""The tour's SFT and preference data (pipelines/build_demo_post_training.py), built from the curated demo:
every task is "continue with the next paragraph" of a real document, the SFT reader accepts every record, and
no rejected answer is another pair's chosen one (such pairs cancel out in DPO)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from operators.sft.reader import to_messages
from pipelines.tools.demo_post_training import main
from pipelines.tools.demo_warc import build_demo_warc
from pipelines.web.config import load_config
from pipelines.web.curate import curate
from tests.fixtures.curated_output import shard_paths


def test_tasks_follow_the_documents_and_pairs_never_cancel(tmp_path, capsys):
    curated = tmp_path / "curated"
    curate(load_config(None), [build_demo_warc(str(tmp_path / "demo.warc.gz"))], str(curated), in_process=True)
    texts = [row["text"] for path in shard_paths(curated) for row in pq.read_table(path).to_pylist()]
    assert main(["--input", str(curated), "--output", str(tmp_path / "post")]) == 0
    instructions = [json.loads(line) for line in (tmp_path / "post" / "instructions.jsonl").open()]
    pairs = [json.loads(line) for line in (tmp_path / "post" / "preference_pairs.jsonl").open()]
    assert len(instructions) >= 2 * len(texts) and len(pairs) == len(instructions)
    for record in instructions:
        messages, problem = to_messages(record)
        assert problem is None
        prompt = messages[0]["content"].split("\n\n", 1)[1]
        reply = messages[1]["content"]
        # the reply is the paragraph after the prompt's (headings and menu lines between them are skipped)
        assert any(prompt in text and text.index(reply) > text.index(prompt) for text in texts if reply in text)
    chosen = {pair["chosen"] for pair in pairs}
    assert all(pair["rejected"] not in chosen and pair["rejected"] != pair["chosen"] for pair in pairs)
    assert main(["--input", str(tmp_path / "absent"), "--output", str(tmp_path / "p2")]) == 2
    assert "no <lang>/*.parquet" in capsys.readouterr().err
