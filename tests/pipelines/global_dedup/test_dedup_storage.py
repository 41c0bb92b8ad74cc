"""dedup's ``_work`` on a file system that fills in the middle of a stage: one error line naming the path and
exit status 1, no half-written intermediate file, and after space is freed the same command resumes at the
stage that failed and ends with the output of a run that had room."""

from __future__ import annotations

import pytest

from pipelines.global_dedup.dedup import main
from tests.fixtures.curated_output import documents_by_language, read_stats
from tests.fixtures.small_filesystem import fill, small_filesystem


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from tests.fixtures.planted_duplicates import write_planted_shards

    root = tmp_path_factory.mktemp("corpus")
    write_planted_shards(root, ("en", "ru", "zh"), files=3)
    return root


def folder_bytes(folder) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_full_work_folder_stops_with_one_line_and_resumes(corpus, tmp_path, capsys):
    roomy = tmp_path / "roomy"
    assert main(["--input", str(corpus), "--output", str(roomy), "--in-process", "--keep-work"]) == 0
    work_bytes, output_bytes = folder_bytes(roomy / "_work"), folder_bytes(roomy) - folder_bytes(roomy / "_work")
    capsys.readouterr()
    with small_filesystem(tmp_path / "mnt", size=f"{(work_bytes + output_bytes) // (1 << 20) * 4 + 8}m") as mount:
        out = mount / "out"
        # Room for the plan and about half of what the stages write in _work.
        filler = fill(mount, leave_bytes=work_bytes // 2)
        assert main(["--input", str(corpus), "--output", str(out), "--in-process"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: No space left on device") and str(out / "_work") in err, err
        assert "rerun the same command" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert not list(out.rglob("*.tmp-*")), "a half-written file was left"
        assert not (out / "stats.json").exists()
        done = sorted(p.name for p in (out / "_work").rglob("*.done.json"))
        filler.unlink()
        assert main(["--input", str(corpus), "--output", str(out), "--in-process"]) == 0
        assert documents_by_language(str(out)) == documents_by_language(str(roomy))
        assert read_stats(str(out)) == read_stats(str(roomy))
    assert done, "the full disk came before any stage finished: nothing to resume"
