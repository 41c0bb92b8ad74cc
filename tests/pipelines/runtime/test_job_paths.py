"""Relative local paths and ``ray job submit --working-dir``: the pipelines refuse them inside such a job (they
would land in Ray's temporary copy of the working dir), and ``pipelines/submit_job.py`` resolves them against
the directory it runs in. The end-to-end check on a real cluster is in test_job_submission.py."""

from __future__ import annotations

import json

import pytest

from pipelines.runtime.job_paths import absolute_entrypoint, submitted_working_dir


@pytest.fixture
def in_submitted_job(monkeypatch):
    # What Ray's job supervisor gives the entrypoint of a job submitted with --working-dir.
    config = {"runtime_env": {"working_dir": "gcs://_ray_pkg_0123456789abcdef.zip"}, "metadata": {}}
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", json.dumps(config))


def test_outside_a_job_nothing_is_refused(monkeypatch):
    monkeypatch.delenv("RAY_JOB_CONFIG_JSON_ENV_VAR", raising=False)
    assert submitted_working_dir() is None


@pytest.mark.parametrize("command", ["curate_cc", "dedup", "curate_sft", "curate_parallel", "build_preferences"])
def test_relative_output_in_a_submitted_job_is_one_clear_error(command, in_submitted_job, tmp_path, monkeypatch,
                                                                 capsys):
    import importlib

    module = {"curate_cc": "pipelines.web.curate", "dedup": "pipelines.global_dedup.dedup",
              "curate_sft": "pipelines.sft.curate", "curate_parallel": "pipelines.parallel.curate",
              "build_preferences": "pipelines.preferences.build"}[command]
    monkeypatch.chdir(tmp_path)
    extra = ["--src", "en", "--tgt", "de"] if command == "curate_parallel" else []
    main = importlib.import_module(module).main
    assert main(["--input", str(tmp_path / "in"), "--output", "rel_out", *extra]) == 2
    err = capsys.readouterr().err
    assert "--output rel_out: a relative path in a job submitted with a working dir" in err
    assert "absolute path" in err and "submit_job.py" in err
    assert not (tmp_path / "rel_out").exists()
    assert main(["--input", "in/*.warc.gz", "--output", str(tmp_path / "out"), *extra]) == 2
    assert "--input in/*.warc.gz: a relative path" in capsys.readouterr().err


def test_submit_job_makes_relative_data_paths_absolute():
    entrypoint = ["python", "pipelines/curate_cc.py", "--config", "configs/curate_cc.yaml", "--input", "a.warc.gz",
                  "warcs/*.warc.gz", "s3://bucket/x.warc.gz", "/abs/y.warc.gz", "--output=out", "--num-cpus", "2"]
    assert absolute_entrypoint(entrypoint, "/home/me") == [
        "python", "pipelines/curate_cc.py", "--config", "configs/curate_cc.yaml", "--input", "/home/me/a.warc.gz",
        "/home/me/warcs/*.warc.gz", "s3://bucket/x.warc.gz", "/abs/y.warc.gz", "--output=/home/me/out",
        "--num-cpus", "2"]
