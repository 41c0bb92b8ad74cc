"""datatrove's extractors over the extraction benchmark's pages, timed; runs inside ``bench/.venv-datatrove``.

    bench/.venv-datatrove/bin/python bench/extraction_datatrove_run.py --data SHARED_DATA --urls URLS.json \
        [--hplt HPLT.jsonl] --result OUT.json

Started by ``bench/extraction.py``, once per repetition (a fresh process each time, so that trafilatura's
cross-document deduplication cache starts empty). For each extractor, the pass over the evaluation pages
(``extraction_pages.load_eval_pages``, limited to the URLs in URLS.json) and then over the HPLT pages (the
JSONL of {url, html} that extraction.py wrote) times, per page, in CPU seconds of this process:

* decoding as datatrove's ``WarcReader`` does it (``process_record``): strict UTF-8, else cchardet's guess; a
  page that neither decodes is dropped there, and counts as empty output here;
* the step's own ``extract(html)``, called directly: not through ``ExtractorSandbox``, the forked worker that
  datatrove's ``run`` sends each document to (that adds a pipe round trip per document, and enforces the
  step's wall-clock ``timeout``). How many pages took longer than that timeout is reported instead.

Extractors: ``Trafilatura(favour_precision=True, timeout=1)`` (datatrove's defaults, as in its FineWeb example:
deduplicate=True, include_comments=False) and ``ReadabilityInscriptis()`` where it imports (it needs
huggingface's fork of readability-lxml from git, which the venv does not install). datatrove 0.10.1 has no
Resiliparse extractor. Writes one JSON object to --result.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
import time

from extraction_pages import load_eval_pages


def decode_like_datatrove(raw: bytes):
    """datatrove 0.10.1 ``readers/warc.py``: UTF-8, else cchardet's encoding; None where both fail."""
    import cchardet

    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        detected = cchardet.detect(raw)["encoding"]
        if not detected or detected.lower().replace("-", "") == "utf8":
            return None
        try:
            return raw.decode(detected)
        except (UnicodeDecodeError, LookupError):
            return None


def make_extractors():
    """name -> datatrove step, or name -> the reason it is not available."""
    out = {}
    try:
        from datatrove.pipeline.extractors import Trafilatura

        out["datatrove-trafilatura"] = Trafilatura(favour_precision=True, timeout=1)
    except Exception as exc:  # reported, not fatal
        out["datatrove-trafilatura"] = f"{type(exc).__name__}: {exc}"
    try:
        from datatrove.pipeline.extractors import ReadabilityInscriptis

        out["datatrove-readability-inscriptis"] = ReadabilityInscriptis()
    except Exception as exc:
        out["datatrove-readability-inscriptis"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return out


def clear_dedup_cache() -> None:
    """trafilatura's deduplication remembers paragraphs across documents: start each pass empty."""
    try:
        from trafilatura.deduplication import LRU_TEST

        LRU_TEST.clear()
    except ImportError:
        pass


def timed_pass(step, items, decode) -> dict:
    """items: (key, raw bytes or str); decode: bytes -> str or None (None for already decoded items)."""
    texts, errors, slow = {}, 0, 0
    decode_s = extract_s = 0.0
    wall_start = time.perf_counter()
    for key, data in items:
        t0 = time.process_time()
        html = decode(data) if decode else data
        t1 = time.process_time()
        text = None
        if html is not None:
            try:
                text = step.extract(html)
            except Exception:
                errors += 1
        t2 = time.process_time()
        decode_s += t1 - t0
        extract_s += t2 - t1
        slow += (t2 - t1) > step.timeout
        texts[key] = text or None
    return {"docs": len(items), "cpu_s": decode_s + extract_s, "decode_cpu_s": decode_s, "extract_cpu_s": extract_s,
            "wall_s": time.perf_counter() - wall_start, "errors": errors, "over_timeout": slow,
            "timeout_s": step.timeout, "texts": texts}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the shared data folder")
    parser.add_argument("--urls", required=True, help="JSON list of the evaluation pages' URLs to extract")
    parser.add_argument("--hplt", help="JSONL of {url, html}: the HPLT pages")
    parser.add_argument("--result", required=True)
    args = parser.parse_args(argv)

    import trafilatura

    with open(args.urls, encoding="utf-8") as handle:
        pages = load_eval_pages(args.data, json.load(handle))
    eval_items = [(page.url, page.raw) for page in pages]
    hplt_items = []
    if args.hplt:
        with open(args.hplt, encoding="utf-8") as handle:
            hplt_items = [(row["url"], row["html"]) for row in map(json.loads, handle)]

    result = {"datatrove": importlib.metadata.version("datatrove"), "trafilatura": trafilatura.__version__,
              "python": sys.version.split()[0], "extractors": {}}
    for name, step in make_extractors().items():
        if isinstance(step, str):
            result["extractors"][name] = {"error": step}
            continue
        warm = decode_like_datatrove(eval_items[0][1]) if eval_items else "<html><body><p>x</p></body></html>"
        step.extract(warm or "")
        clear_dedup_cache()
        entry = {"eval": timed_pass(step, eval_items, decode_like_datatrove)}
        if hplt_items:
            clear_dedup_cache()
            entry["hplt"] = timed_pass(step, hplt_items, None)
        result["extractors"][name] = entry
    with open(args.result, "w", encoding="utf-8") as handle:
        json.dump(result, handle, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
