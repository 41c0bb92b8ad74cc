"""Preference pairs generated and judged through an OpenAI-compatible endpoint (a local HTTP server in
the test that answers like one): two samples per prompt, the judge asked twice with the order swapped,
and every failure counted. Prompts are NTREX-128 translation requests."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.preferences.build import build_preferences, main
from pipelines.preferences.generation import Endpoint
from tests.fixtures.shared_data import shared_path


class _ChatServer(BaseHTTPRequestHandler):
    """Policy: at temperature 0.7 the reference translation, at 1.0 a wrong sentence. Judge: prefers
    the answer holding the word "Referenz" (our marker of the reference), or answers unparsably / with a
    tie / position-biased for prompts that ask for it. A prompt containing FAIL gets HTTP 500."""

    calls = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(body)
        text = body["messages"][-1]["content"]
        if "FAIL" in text:
            self.send_response(500)
            self.end_headers()
            return
        if body["model"] == "judge":
            answer_a = text.split("Answer A:\n", 1)[1].split("\n\nAnswer B:", 1)[0]
            if "MUMBLE" in text:
                verdict = "I cannot decide."
            elif "TIE" in text:
                verdict = "T"
            elif "BIASED" in text:
                verdict = "A"
            else:
                verdict = "A" if "Referenz" in answer_a else "B"
        else:
            prompt = text.split(": ", 1)[1]
            verdict = f"Referenz: {prompt}" if body["temperature"] == 0.7 else f"Falsch: {prompt[::-1]}"
        reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": verdict}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ChatServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_generated_and_judged_pairs(server, tmp_path):
    with open(shared_path("ntrex128", "eng_Latn.txt"), encoding="utf-8") as handle:
        sentences = [line.strip() for line, _ in zip(handle, range(6))]
    prompts = [{"prompt": f"Translate into German: {s}"} for s in sentences]
    prompts += [{"prompt": "Translate: FAIL"}, {"prompt": "Translate: MUMBLE"}, {"prompt": "Translate: TIE"},
                {"prompt": "Translate: BIASED"}, {"question": "no prompt field"}]
    (tmp_path / "prompts.jsonl").write_text("\n".join(json.dumps(p) for p in prompts) + "\n")
    policy, judge = Endpoint(server, "marco"), Endpoint(server, "judge")
    stats = build_preferences([str(tmp_path / "prompts.jsonl")], str(tmp_path / "out"), policy, judge).to_dict()
    (generation,) = [op for op in stats["operators"] if op["name"] == "preference_generation"]
    assert generation["dropped"] == {"gen:error": 1, "pref:judge_unparsable": 1, "pref:tie": 1,
                                     "pref:inconsistent_judge": 1, "format:unknown": 1}
    pairs = [json.loads(line) for line in (tmp_path / "out" / "preferences.jsonl").read_text().splitlines()]
    assert len(pairs) == 6
    for pair, sentence in zip(pairs, sentences):
        assert pair["chosen"].startswith("Referenz") and pair["rejected"].startswith("Falsch")
        assert pair["prompt"] == [{"role": "user", "content": f"Translate into German: {sentence}"}]
    judged = [c for c in _ChatServer.calls if c["model"] == "judge" and "Referenz" in json.dumps(c)]
    assert any(json.dumps(c).index("Referenz") > json.dumps(c).index("Falsch") for c in judged)  # both orders


def test_policy_url_needs_a_model(tmp_path, capsys):
    (tmp_path / "p.jsonl").write_text(json.dumps({"prompt": "hi"}) + "\n")
    assert main(["--input", str(tmp_path / "p.jsonl"), "--output", str(tmp_path / "o"),
                 "--policy-url", "http://127.0.0.1:9/v1"]) == 2
    assert "--policy-model: required" in capsys.readouterr().err
