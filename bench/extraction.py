"""Main-content extraction engines side by side: snippet accuracy and docs/s per core, in one run (issue 18).

    .venv/bin/python -m bench.extraction                      # all engines, 577 + 100 pages, one round (~5 min)
    .venv/bin/python -m bench.extraction --repeat 3 --split --json
    .venv/bin/python -m bench.extraction --quick --skip-datatrove
    .venv/bin/python -m bench.extraction --engines trafilatura-precision,ours-fast --repeat 5

Pages (``bench/extraction_pages.py``): the 577 Trafilatura evaluation pages of
``shared/data/html_extraction_trafilatura_eval`` (``--quick``: 100 of them, evenly spread) and the 100 Common
Crawl pages of ``shared/data/cc_html_sample_hplt`` with HPLT v2's extracted text.

Engines, each in this process (datatrove's in a subprocess of ``bench/.venv-datatrove``), one page at a time:

* ``trafilatura-precision``, ``trafilatura-default``, ``trafilatura-fast``, ``trafilatura-fast-precision``:
  ``trafilatura.extract(html, favor_precision=..., fast=..., deduplicate=False)``, all else trafilatura's defaults
  (``deduplicate=False`` so that a page's output does not depend on the pages before it);
* ``ours-trafilatura``, ``ours-fast``: ``make_extractor(ExtractConfig(engine=...)).extract_one(html, url)`` of
  ``operators.web.extract`` (our settings and limits; ``TrafilaturaExtractor(ExtractConfig())`` where
  ``make_extractor`` does not exist yet; ``ours-fast`` is reported as not available where engine "fast" fails).
  Where the extractor has ``extract_with_path`` (the fast engine's cascade), that is called instead and the pages
  and extraction CPU of each path (fast, fallback, dropped) are tallied; a ``path_counts()`` method is printed;
* ``resiliparse``: ``extract_plain_text(HTMLTree.parse(html), main_content=True)``;
* ``datatrove``: datatrove 0.10.1's ``Trafilatura(favour_precision=True)`` step with its defaults (and its
  ``ReadabilityInscriptis`` where that imports), see ``bench/extraction_datatrove_run.py``.

Timing: ``time.process_time()`` of this one process, per page, around decoding (bytes ->
``operators.web.html_decoding.decode_html``; datatrove: its own WarcReader decoding) and around extraction;
docs/s per core = pages / (decoding + extraction CPU seconds). Set-up and one warm-up page are not timed. A
"decoding alone" pass gives decoding's own rate, and each engine's row shows decoding's share of its cost.
The compared pair (trafilatura-precision, ours-fast) runs first and back to back, in alternating order from
round to round; ``--repeat N`` runs N rounds of every engine and takes each engine's best (least) CPU time,
the median beside it. Accuracy comes from the first round (outputs are deterministic; rounds that differ are
counted). On the HPLT pages the HTML is already text (warc2text decoded it), so nothing is decoded there, and
the figure is agreement with HPLT's own extractor (trafilatura 1.8), not correctness.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

os.environ.setdefault("OMP_NUM_THREADS", "1")

from bench import datatrove_anchor
from bench.cpu_meter import MachineCpu
from bench.curate import machine_info
from bench.extraction_pages import (
    HELD_APART,
    TRAIN,
    EvalPage,
    HpltPage,
    default_data_dir,
    load_eval_pages,
    load_hplt_pages,
    page_counts,
    snippet_scores,
    spread,
    token_scores,
)
from bench.quality import git_state
from bench.report import save_report
from operators.web.html_decoding import decode_html

BENCH_DIR = Path(__file__).resolve().parent
RUNNER = BENCH_DIR / "extraction_datatrove_run.py"
BASELINE, CANDIDATE = "trafilatura-precision", "ours-fast"
SPEED_TARGET = 5.0
QUICK_PAGES, QUICK_HPLT_PAGES = 100, 30

Extract = Callable[[str, Optional[str]], Optional[str]]


def say(message: str = "") -> None:
    print(message, flush=True)


# -------------------------------------------------------------------------------------------- engines


def _trafilatura(**options) -> Callable[[], tuple]:
    def build():
        import trafilatura

        def extract(html: str, url: Optional[str]) -> Optional[str]:
            return trafilatura.extract(html, deduplicate=False, **options)

        return extract, None, f"trafilatura {trafilatura.__version__} extract({_kwargs(options)})"
    return build


def _kwargs(options: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in options.items()) or "defaults"


def _ours(engine: str) -> Callable[[], tuple]:
    def build():
        from operators.web import extract as module

        make = getattr(module, "make_extractor", None)
        try:
            if make is None:
                raise LookupError("operators.web.extract has no make_extractor yet")
            extractor = make(module.ExtractConfig(engine=engine))
            label = f"make_extractor(ExtractConfig(engine={engine!r}))"
            if engine == "fast":
                try:
                    from operators.web.fast_extract.blocks import COMPILED_WALK
                except ImportError:
                    pass
                else:
                    label += (", DOM walk compiled (lexbor_walk)" if COMPILED_WALK is not None
                              else ", DOM walk in Python (lexbor_walk not installed)")
        except Exception as exc:
            if engine != "trafilatura":
                raise RuntimeError(f"{type(exc).__name__}: {exc}") from None
            extractor = module.TrafilaturaExtractor(module.ExtractConfig())
            label = f"TrafilaturaExtractor(ExtractConfig()) (fallback: {type(exc).__name__}: {exc})"
        setup = getattr(extractor, "setup", None)
        if callable(setup):
            setup()

        if callable(getattr(extractor, "extract_with_path", None)):
            # The cascade says which path each page took (fast / fallback); timed_pass tallies them.
            last: Dict[str, Optional[str]] = {"path": None}

            def extract(html: str, url: Optional[str]) -> Optional[str]:
                text, reason, path = extractor.extract_with_path(html, url)
                last["path"] = path or (f"dropped:{reason}" if reason else "unlabelled")
                return text

            extract.last_path = lambda: last["path"]
        else:
            def extract(html: str, url: Optional[str]) -> Optional[str]:
                return extractor.extract_one(html, url)[0]

        return extract, extractor, label
    return build


def _resiliparse() -> tuple:
    import resiliparse
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    def extract(html: str, url: Optional[str]) -> Optional[str]:
        return extract_plain_text(HTMLTree.parse(html), main_content=True)

    version = getattr(resiliparse, "__version__", None) or _dist_version("resiliparse")
    return extract, None, f"resiliparse {version} extract_plain_text(HTMLTree.parse(html), main_content=True)"


def _dist_version(name: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


# In-process engines, in the order they run after the compared pair.
LOCAL_ENGINES: Dict[str, Callable[[], tuple]] = {
    "trafilatura-precision": _trafilatura(favor_precision=True),
    "ours-fast": _ours("fast"),
    "trafilatura-default": _trafilatura(),
    "trafilatura-fast": _trafilatura(fast=True),
    "trafilatura-fast-precision": _trafilatura(fast=True, favor_precision=True),
    "ours-trafilatura": _ours("trafilatura"),
    "resiliparse": _resiliparse,
}
ALL_ENGINES = list(LOCAL_ENGINES) + ["datatrove"]


@dataclass
class Engine:
    name: str
    extract: Optional[Extract] = None
    obj: Any = None
    label: str = ""
    error: Optional[str] = None
    setup_s: float = 0.0
    runs: List[dict] = field(default_factory=list)  # one per round: cpu_s, decode_cpu_s, extract_cpu_s, wall_s
    texts: Dict[str, Optional[str]] = field(default_factory=dict)  # first round's outputs
    changed_pages: int = 0  # pages whose output differed in a later round
    hplt: Optional[dict] = None
    hplt_texts: Dict[str, Optional[str]] = field(default_factory=dict)
    path_counts: Dict[str, Any] = field(default_factory=dict)


def build_engine(name: str) -> Engine:
    started = time.process_time()
    try:
        extract, obj, label = LOCAL_ENGINES[name]()
    except RuntimeError as exc:  # already says what failed
        return Engine(name, error=str(exc))
    except Exception as exc:
        return Engine(name, error=f"{type(exc).__name__}: {exc}")
    return Engine(name, extract, obj, label, setup_s=time.process_time() - started)


# ------------------------------------------------------------------------------------------- measuring


def _path_counts(obj) -> Optional[dict]:
    method = getattr(obj, "path_counts", None)
    if not callable(method):
        return None
    try:
        counts = method()
    except Exception:
        return None
    return dict(counts) if isinstance(counts, dict) else None


def _counts_since(before: Optional[dict], after: Optional[dict]) -> Optional[dict]:
    if after is None:
        return None
    before = before or {}
    out = {}
    for key, value in after.items():
        old = before.get(key, 0)
        out[key] = value - old if isinstance(value, (int, float)) and isinstance(old, (int, float)) else value
    return out


def timed_pass(extract: Extract, items: Sequence[tuple], decode: bool) -> dict:
    """items: (url, bytes) when decode, else (url, str). CPU seconds of decoding and of extraction, per page."""
    texts: Dict[str, Optional[str]] = {}
    decode_s = extract_s = 0.0
    errors = 0
    last_path = getattr(extract, "last_path", None)
    paths: Dict[str, dict] = {}
    with MachineCpu() as machine:
        wall_start = time.perf_counter()
        for url, data in items:
            t0 = time.process_time()
            html = decode_html(data) if decode else data
            t1 = time.process_time()
            try:
                text = extract(html, url)
            except Exception:
                text, errors = None, errors + 1
            t2 = time.process_time()
            decode_s += t1 - t0
            extract_s += t2 - t1
            texts[url] = text or None
            if last_path is not None:
                tally = paths.setdefault(str(last_path()), {"docs": 0, "extract_cpu_s": 0.0})
                tally["docs"] += 1
                tally["extract_cpu_s"] += t2 - t1
        wall_s = time.perf_counter() - wall_start
    cpu_s = decode_s + extract_s
    others = None if machine.busy_s is None else max(0.0, machine.busy_s - cpu_s)
    return {"docs": len(items), "cpu_s": cpu_s, "decode_cpu_s": decode_s, "extract_cpu_s": extract_s,
            "wall_s": wall_s, "errors": errors, "others_cpu_s": others, "texts": texts,
            **({"paths": paths} if last_path is not None else {})}


def run_local(engine: Engine, items: Sequence[tuple], first_round: bool) -> None:
    if engine.extract is None:
        return
    if first_round:  # warm-up: lazy imports, caches, models
        try:
            engine.extract(decode_html(items[0][1]), items[0][0])
        except Exception:
            pass
    before = _path_counts(engine.obj)
    run = timed_pass(engine.extract, items, decode=True)
    texts = run.pop("texts")
    if first_round:
        engine.texts = texts
        counts = _counts_since(before, _path_counts(engine.obj))
        if counts is not None:
            engine.path_counts["eval"] = counts
    else:
        engine.changed_pages = max(engine.changed_pages, sum(texts[u] != engine.texts.get(u) for u in texts))
    engine.runs.append(run)


def run_local_hplt(engine: Engine, items: Sequence[tuple]) -> None:
    if engine.extract is None or not items:
        return
    before = _path_counts(engine.obj)
    run = timed_pass(engine.extract, items, decode=False)
    engine.hplt_texts = run.pop("texts")
    engine.hplt = run
    counts = _counts_since(before, _path_counts(engine.obj))
    if counts is not None:
        engine.path_counts["hplt"] = counts


def decoding_alone(items: Sequence[tuple]) -> dict:
    return timed_pass(lambda html, url: None, items, decode=True)


class Datatrove:
    """datatrove's extractors, one subprocess per round (bench/extraction_datatrove_run.py)."""

    def __init__(self, data_dir: Path, pages: Sequence[EvalPage], hplt: Sequence[HpltPage], workdir: str) -> None:
        self.data_dir, self.workdir = data_dir, workdir
        self.urls_path = os.path.join(workdir, "urls.json")
        self.hplt_path = os.path.join(workdir, "hplt.jsonl") if hplt else None
        with open(self.urls_path, "w", encoding="utf-8") as handle:
            json.dump([page.url for page in pages], handle)
        if self.hplt_path:
            with open(self.hplt_path, "w", encoding="utf-8") as handle:
                for page in hplt:
                    handle.write(json.dumps({"url": page.url, "html": page.html}, ensure_ascii=False) + "\n")
        self.python: Optional[Path] = None
        self.error: Optional[str] = None
        self.versions: dict = {}
        self.engines: Dict[str, Engine] = {}
        self.rounds = 0
        self.round_info: List[dict] = []

    def prepare(self) -> bool:
        try:
            self.python = datatrove_anchor.ensure_venv(log=say)
        except datatrove_anchor.AnchorUnavailable as exc:
            self.error = str(exc)
        return self.python is not None

    def run_round(self, first_round: bool, timeout_s: float = 1800) -> None:
        if self.python is None:
            return
        result_path = os.path.join(self.workdir, f"datatrove-{self.rounds}.json")
        cmd = [str(self.python), str(RUNNER), "--data", str(self.data_dir), "--urls", self.urls_path,
               "--result", result_path]
        if first_round and self.hplt_path:
            cmd += ["--hplt", self.hplt_path]
        self.rounds += 1
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            with MachineCpu() as machine:
                proc = subprocess.run(cmd, capture_output=True, text=True, env=datatrove_anchor._clean_env(),
                                      cwd=self.workdir, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.error = f"{RUNNER.name} took over {timeout_s:.0f} s"
            self.python = None
            return
        if proc.returncode != 0 or not os.path.exists(result_path):
            self.error = f"{RUNNER.name} failed ({proc.returncode}): {datatrove_anchor._tail(proc.stderr, 12)}"
            self.python = None
            return
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        process_cpu_s = sum(getattr(children_after, f) - getattr(children_before, f) for f in ("ru_utime", "ru_stime"))
        others = None if machine.busy_s is None else max(0.0, machine.busy_s - process_cpu_s)
        # Start-up, imports and page loading included; others = the rest of the machine meanwhile.
        self.round_info.append({"process_cpu_s": process_cpu_s, "others_cpu_s": others})
        with open(result_path, encoding="utf-8") as handle:
            result = json.load(handle)
        self.versions = {k: result[k] for k in ("datatrove", "trafilatura", "python")}
        for name, entry in result["extractors"].items():
            engine = self.engines.setdefault(name, Engine(name, label=self._label(name)))
            if "error" in entry:
                engine.error = entry["error"]
                continue
            run = dict(entry["eval"], others_cpu_s=others)  # the whole round's, for each of its extractors
            texts = run.pop("texts")
            if first_round:
                engine.texts = texts
                if "hplt" in entry:
                    engine.hplt_texts = entry["hplt"].pop("texts")
                    engine.hplt = entry["hplt"]
            else:
                engine.changed_pages = max(engine.changed_pages,
                                           sum(texts[u] != engine.texts.get(u) for u in texts))
            engine.runs.append(run)

    def _label(self, name: str) -> str:
        return {"datatrove-trafilatura": "datatrove Trafilatura(favour_precision=True) step, its defaults "
                                         "(deduplicate=True), decoding as its WarcReader",
                "datatrove-readability-inscriptis": "datatrove ReadabilityInscriptis()"}.get(name, name)


# --------------------------------------------------------------------------------------------- report


def summarise(engine: Engine, pages: Sequence[EvalPage], hplt: Sequence[HpltPage], with_split: bool) -> dict:
    out: dict = {"name": engine.name, "label": engine.label, "available": engine.error is None and bool(engine.runs)}
    if engine.error:
        out["error"] = engine.error
    if not engine.runs:
        return out
    cpu = [run["cpu_s"] for run in engine.runs]
    best = min(engine.runs, key=lambda run: run["cpu_s"])
    docs = best["docs"]
    out.update({
        "setup_cpu_s": engine.setup_s, "runs": engine.runs, "rounds": len(engine.runs),
        "best_cpu_s": best["cpu_s"], "median_cpu_s": statistics.median(cpu),
        "docs_per_cpu_s": docs / best["cpu_s"] if best["cpu_s"] else None,
        "docs_per_cpu_s_median": docs / statistics.median(cpu) if statistics.median(cpu) else None,
        "decode_share": best["decode_cpu_s"] / best["cpu_s"] if best["cpu_s"] else None,
        "empty_outputs": sum(1 for page in pages if not engine.texts.get(page.url)),
        "changed_pages_between_rounds": engine.changed_pages,
        "scores": {"all": snippet_scores(engine.texts, pages)},
        "per_page": {page.url: list(page_counts(engine.texts.get(page.url), page).values()) for page in pages},
    })
    if with_split:
        for split in (TRAIN, HELD_APART):
            out["scores"][split] = snippet_scores(engine.texts, pages, split)
    if engine.path_counts:
        out["path_counts"] = engine.path_counts
    if "paths" in best:
        out["best_paths"] = best["paths"]
    if engine.hplt is not None:
        out["hplt"] = dict(engine.hplt, scores=token_scores(engine.hplt_texts, hplt))
    return out


def _f(value, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def _labelled_paths(paths: Optional[dict]) -> set:
    """The cascade's own path names among ``paths`` (not drops, not pages without a path)."""
    return {path for path in paths or () if path != "unlabelled" and not path.startswith("dropped:")}


def print_tables(summaries: Sequence[dict], decoding: dict, with_split: bool, repeat: int) -> None:
    split_head = f"{'acc train':>10}{'acc held':>9}" if with_split else ""
    head = (f"{'engine':<28}{'docs':>5}{'CPU s':>8}{'median':>8}{'docs/s/core':>12}{'decode %':>9}"
            f"{'accuracy':>9}{'P':>7}{'R':>7}{'F1':>7}{split_head}{'empty':>6}{'others s':>9}")
    say(f"\nTrafilatura evaluation pages (CPU s: best of {repeat} round(s); docs/s/core from it)")
    say(head)
    say("-" * len(head))
    dec_rate = decoding["docs"] / decoding["cpu_s"] if decoding["cpu_s"] else None
    say(f"{'decoding alone':<28}{decoding['docs']:>5}{decoding['cpu_s']:>8.2f}{'':>8}{_f(dec_rate, ',.0f'):>12}")
    for s in summaries:
        if not s["available"]:
            continue
        sc = s["scores"]["all"]
        split_cols = "".join(f"{s['scores'][k]['accuracy']:>{w}.4f}" for k, w in ((TRAIN, 10), (HELD_APART, 9))) \
            if with_split else ""
        known = [run["others_cpu_s"] for run in s["runs"] if run.get("others_cpu_s") is not None]
        others = sum(known) if known else None
        say(f"{s['name']:<28.28}{s['runs'][0]['docs']:>5}{s['best_cpu_s']:>8.2f}{s['median_cpu_s']:>8.2f}"
            f"{_f(s['docs_per_cpu_s'], '.1f'):>12}{100 * s['decode_share']:>8.1f}%"
            f"{sc['accuracy']:>9.4f}{sc['precision']:>7.3f}{sc['recall']:>7.3f}{sc['f1']:>7.3f}{split_cols}"
            f"{s['empty_outputs']:>6}{_f(others, '.1f'):>9}")
    for s in summaries:
        if not s["available"]:
            what = "fast engine" if s["name"] == CANDIDATE else s["name"]
            say(f"{what}: not available ({s.get('error', 'not run')})")
        elif s.get("path_counts"):
            say(f"{s['name']} path counts: {json.dumps(s['path_counts'])}")
        if s.get("available") and _labelled_paths(s.get("best_paths")):
            say(f"{s['name']} paths (its best round; extraction CPU only): " + "; ".join(
                f"{path} {t['docs']} pages, {t['extract_cpu_s']:.2f} s "
                f"({t['docs'] / t['extract_cpu_s'] if t['extract_cpu_s'] else 0:.0f} docs/s)"
                for path, t in sorted(s["best_paths"].items(), key=lambda kv: -kv[1]["docs"])))
        if _labelled_paths((s.get("hplt") or {}).get("paths")):
            say(f"{s['name']} paths on the HPLT pages: "
                + ", ".join(f"{path} {t['docs']}" for path, t in s["hplt"]["paths"].items()))
        if s.get("changed_pages_between_rounds"):
            say(f"{s['name']}: {s['changed_pages_between_rounds']} page(s) gave other output in a later round")
    hplt = [s for s in summaries if s.get("hplt")]
    if hplt:
        say("\nHPLT pages: token agreement with HPLT v2's text (its trafilatura 1.8 extraction; no decoding here)")
        head = (f"{'engine':<28}{'pages':>6}{'macro P':>8}{'macro R':>8}{'macro F1':>9}{'micro P':>8}{'micro R':>8}"
                f"{'micro F1':>9}{'empty':>6}{'docs/s/core':>12}")
        say(head)
        say("-" * len(head))
        for s in hplt:
            sc, run = s["hplt"]["scores"], s["hplt"]
            say(f"{s['name']:<28.28}{sc['pages']:>6}{sc['macro_precision']:>8.3f}{sc['macro_recall']:>8.3f}"
                f"{sc['macro_f1']:>9.3f}{sc['micro_precision']:>8.3f}{sc['micro_recall']:>8.3f}{sc['micro_f1']:>9.3f}"
                f"{sc['empty_outputs']:>6}{_f(run['docs'] / run['cpu_s'] if run['cpu_s'] else None, '.1f'):>12}")


def key_ratios(summaries: Sequence[dict], with_split: bool) -> dict:
    by_name = {s["name"]: s for s in summaries if s["available"]}
    if BASELINE not in by_name or CANDIDATE not in by_name:
        missing = [n for n in (BASELINE, CANDIDATE) if n not in by_name]
        return {"error": f"not measured: {', '.join(missing)}"}
    base, cand = by_name[BASELINE], by_name[CANDIDATE]
    speed = cand["docs_per_cpu_s"] / base["docs_per_cpu_s"]
    out = {"speed": {"value": speed, "median_value": cand["docs_per_cpu_s_median"] / base["docs_per_cpu_s_median"],
                     "target": f">= {SPEED_TARGET:g}x", "met": speed >= SPEED_TARGET},
           "accuracy_difference": {}}
    for split in ("all",) + ((TRAIN, HELD_APART) if with_split else ()):
        diff = cand["scores"][split]["accuracy"] - base["scores"][split]["accuracy"]
        out["accuracy_difference"][split] = {"value": diff, "target": ">= 0", "met": diff >= 0}
    return out


def print_ratios(ratios: dict) -> None:
    say("")
    if "error" in ratios:
        say(f"key ratios ({CANDIDATE} vs {BASELINE}): {ratios['error']}")
        return
    speed = ratios["speed"]
    say(f"{CANDIDATE} docs/s/core / {BASELINE} docs/s/core: {speed['value']:.2f}x (median rounds "
        f"{speed['median_value']:.2f}x; target {speed['target']}: {'met' if speed['met'] else 'NOT met'})")
    for split, diff in ratios["accuracy_difference"].items():
        say(f"accuracy {CANDIDATE} - {BASELINE} ({split}): {diff['value']:+.4f} "
            f"(target {diff['target']}: {'met' if diff['met'] else 'NOT met'})")


# ----------------------------------------------------------------------------------------------- main


def fast_model_identity() -> Optional[dict]:
    """Path and sha256 of the fast engine's shipped block model, when there is one (it changes with training)."""
    import hashlib

    path = BENCH_DIR.parent / "operators" / "resources" / "extraction" / "block_model.npz"
    if not path.exists():
        return None
    return {"path": str(path.relative_to(BENCH_DIR.parent)), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="shared data folder (%(default)s)")
    parser.add_argument("--engines", help=f"comma-separated, of: {', '.join(ALL_ENGINES)} (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of every engine; best CPU time counts")
    parser.add_argument("--split", action="store_true", help="accuracy on train / held-apart pages too")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_PAGES} evaluation pages, {QUICK_HPLT_PAGES} HPLT pages")
    parser.add_argument("--pages", type=int, help="evaluation pages to use, evenly spread (default: all)")
    parser.add_argument("--hplt-pages", type=int, help="HPLT pages to use, evenly spread (0: none; default: all)")
    parser.add_argument("--skip-datatrove", action="store_true")
    parser.add_argument("--json", action="store_true", help="write bench/results/extraction-<timestamp>.json")
    args = parser.parse_args(argv)
    args.engine_list = args.engines.split(",") if args.engines else list(ALL_ENGINES)
    unknown = [e for e in args.engine_list if e not in ALL_ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(unknown)}; known: {', '.join(ALL_ENGINES)}")
    if args.skip_datatrove and "datatrove" in args.engine_list:
        args.engine_list.remove("datatrove")
    if args.repeat < 1:
        parser.error("--repeat: at least 1")
    if args.quick:
        args.pages = args.pages or QUICK_PAGES
        args.hplt_pages = QUICK_HPLT_PAGES if args.hplt_pages is None else args.hplt_pages
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        pages = spread(load_eval_pages(args.data), args.pages)
    except FileNotFoundError as exc:
        say(f"error: the evaluation pages are missing ({exc}); set --data or MARCO_SHARED_DATA")
        return 2
    try:
        hplt = spread(load_hplt_pages(args.data), args.hplt_pages) if args.hplt_pages != 0 else []
    except (FileNotFoundError, ImportError) as exc:
        say(f"HPLT pages not used: {exc}")
        hplt = []
    started = _dt.datetime.now()
    eval_items = [(page.url, page.raw) for page in pages]
    hplt_items = [(page.url, page.html) for page in hplt]
    n_train = sum(page.split == TRAIN for page in pages)
    say(f"{len(pages)} evaluation pages ({sum(len(p.raw) for p in pages) / 1e6:.1f} MB; {n_train} train, "
        f"{len(pages) - n_train} held-apart), {len(hplt)} HPLT pages; engines: {', '.join(args.engine_list)}; "
        f"{args.repeat} round(s)")

    local_names = [name for name in LOCAL_ENGINES if name in args.engine_list]
    engines = {name: build_engine(name) for name in local_names}
    for engine in engines.values():
        if engine.name == CANDIDATE and engine.error:
            say(f"fast engine: not available ({engine.error})")
        else:
            say(f"  {engine.name}: {engine.label or 'not available (' + str(engine.error) + ')'}")

    with tempfile.TemporaryDirectory(prefix="extraction-bench-") as workdir:
        datatrove = None
        if "datatrove" in args.engine_list:
            datatrove = Datatrove(args.data, pages, hplt, workdir)
            if not datatrove.prepare():
                say(f"datatrove: not available ({datatrove.error})")
        decoding_runs = []
        for round_no in range(args.repeat):
            first = round_no == 0
            # The compared pair first, back to back, its order alternating between rounds.
            order = list(local_names)
            if round_no % 2 and BASELINE in order and CANDIDATE in order:
                i, j = order.index(BASELINE), order.index(CANDIDATE)
                order[i], order[j] = order[j], order[i]
            for name in order:
                engine = engines[name]
                if engine.error:
                    continue
                say(f"round {round_no + 1}/{args.repeat}: {name}...")
                run_local(engine, eval_items, first)
            say(f"round {round_no + 1}/{args.repeat}: decoding alone...")
            decoding_runs.append(decoding_alone(eval_items))
            decoding_runs[-1].pop("texts")
            if datatrove is not None and datatrove.python is not None:
                say(f"round {round_no + 1}/{args.repeat}: datatrove (subprocess)...")
                datatrove.run_round(first)
                if datatrove.error:
                    say(f"datatrove: not available ({datatrove.error})")
        if hplt_items:
            for name in local_names:
                if not engines[name].error:
                    say(f"HPLT pages: {name}...")
                    run_local_hplt(engines[name], hplt_items)

    all_engines = list(engines.values()) + (list(datatrove.engines.values()) if datatrove else [])
    summaries = [summarise(engine, pages, hplt, args.split) for engine in all_engines]
    if datatrove is not None and not datatrove.engines:
        summaries.append({"name": "datatrove", "available": False, "error": datatrove.error or "not run"})
    decoding = min(decoding_runs, key=lambda run: run["cpu_s"])
    print_tables(summaries, decoding, args.split, args.repeat)
    ratios = key_ratios(summaries, args.split)
    print_ratios(ratios)

    if args.json:
        save_report("extraction", {
            "started": started.isoformat(timespec="seconds"),
            "finished": _dt.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join([sys.executable] + sys.argv), "machine": machine_info(), "git": git_state(),
            "pages": {"eval": len(pages), "eval_train": n_train, "hplt": len(hplt),
                      "eval_mb": sum(len(p.raw) for p in pages) / 1e6},
            "repeat": args.repeat, "fast_model": fast_model_identity(),
            "decoding_alone": {"runs": decoding_runs, "best": decoding},
            "datatrove": ({"versions": datatrove.versions, "error": datatrove.error, "rounds": datatrove.round_info}
                          if datatrove else None),
            "engines": summaries, "ratios": ratios,
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
