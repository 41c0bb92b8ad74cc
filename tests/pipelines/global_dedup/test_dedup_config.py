"""pipelines/dedup.py: the documented config equals the defaults; bad settings fail before any work."""

import pytest

from common.config_check import ConfigError
from pipelines.global_dedup.dedup import DedupConfig, dedup, load_config, main
from tests.fixtures.shared_data import REPO_ROOT as ROOT


def test_documented_config_is_the_default():
    assert load_config(str(ROOT / "configs" / "dedup.yaml")) == DedupConfig()


@pytest.mark.parametrize("text, key", [
    ("minhash:\n  bandz: 3\n", "minhash.bandz"),
    ("minhash:\n  threshold: 1.2\n", "minhash.threshold"),
    ("substring:\n  min_tokens: 1\n", "substring.min_tokens"),
    ("substring:\n  tokenizer: /nowhere/tokenizer.json\n", "substring.tokenizer"),
    ("partitions: 0\n", "partitions"),
])
def test_bad_settings_name_their_key(tmp_path, text, key):
    path = tmp_path / "dedup.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(str(path))


def test_missing_input_is_one_clear_error(tmp_path, capsys):
    assert main(["--input", str(tmp_path / "absent"), "--output", str(tmp_path / "out"), "--in-process"]) == 2
    assert "--input: folder not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no <lang>/\\*.parquet"):
        dedup(DedupConfig(), str(tmp_path / "empty"), str(tmp_path / "out"), in_process=True)


def test_rerun_with_other_settings_is_refused_and_overwrite_restarts(tmp_path, capsys):
    from pipelines.tools.demo_warc import build_demo_warc
    from pipelines.web.config import load_config as load_curate_config
    from pipelines.web.curate import curate

    curated = tmp_path / "curated"
    curate(load_curate_config(None), [build_demo_warc(str(tmp_path / "demo.warc.gz"))], str(curated), in_process=True)
    out = str(tmp_path / "dedup")
    assert main(["--input", str(curated), "--output", out, "--in-process"]) == 0
    assert main(["--input", str(curated), "--output", out, "--in-process"]) == 0
    config = tmp_path / "dedup.yaml"
    config.write_text("minhash:\n  threshold: 0.9\n")
    capsys.readouterr()
    assert main(["--input", str(curated), "--output", out, "--in-process", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "settings.minhash.threshold" in err and "--overwrite" in err
    assert main(["--input", str(curated), "--output", out, "--in-process", "--config", str(config),
                 "--overwrite"]) == 0
