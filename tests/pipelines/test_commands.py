"""The layout's promises: a file directly under ``pipelines/`` (or ``launch/``) is a command that nothing
imports, no module edits ``sys.path``, and the commands run from any working directory and from an installed
wheel (with the word lists and models inside it)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.fixtures.shared_data import REPO_ROOT

COMMANDS = sorted(p.stem for p in (REPO_ROOT / "pipelines").glob("*.py") if p.name != "__init__.py")
LAUNCHERS = ["pretrain", "sft", "dpo"]
SOURCE_FOLDERS = ["common", "operators", "pipelines", "training", "launch", "tests", "bench"]


def _python_files():
    for folder in SOURCE_FOLDERS:
        # Not inside hidden folders: bench/.venv-datatrove is a virtualenv that bench/ builds.
        yield from (path for path in (REPO_ROOT / folder).rglob("*.py")
                    if not any(part.startswith(".") for part in path.relative_to(REPO_ROOT).parts))


def _imported_modules(path: Path, top_level_only: bool = False):
    """Modules ``path`` imports (with ``top_level_only``, those imported when it is imported, not inside
    functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in (tree.body if top_level_only else ast.walk(tree)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_every_command_has_main_and_nothing_imports_a_command():
    assert len(COMMANDS) >= 15
    commands = {f"pipelines.{name}" for name in COMMANDS} | {f"launch.{name}" for name in LAUNCHERS}
    for name in COMMANDS:
        text = (REPO_ROOT / "pipelines" / f"{name}.py").read_text(encoding="utf-8")
        assert "import main" in text and 'if __name__ == "__main__":' in text, name
    importers = {str(path.relative_to(REPO_ROOT)): sorted(set(_imported_modules(path)) & commands)
                 for path in _python_files()}
    assert {path: found for path, found in importers.items() if found} == {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycles():
    modules = {_module_name(p): p for folder in ("common", "operators", "pipelines", "training", "launch")
               for p in (REPO_ROOT / folder).rglob("*.py")}
    graph = {name: sorted({m for m in _imported_modules(path, top_level_only=True) if m in modules and m != name})
             for name, path in modules.items()}
    state: dict = {}

    def visit(name, trail):
        if state.get(name) == "done":
            return None
        if state.get(name) == "open":
            return trail[trail.index(name):] + [name]
        state[name] = "open"
        for target in graph[name]:
            cycle = visit(target, trail + [name])
            if cycle:
                return cycle
        state[name] = "done"
        return None

    cycles = [c for c in (visit(name, []) for name in sorted(graph)) if c]
    assert cycles == []


def _edits_sys_path(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        target = node.func.value if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else None
        if (isinstance(target, ast.Attribute) and target.attr == "path" and isinstance(target.value, ast.Name)
                and target.value.id == "sys"):
            return True
    return False


def test_no_module_edits_sys_path():
    assert [str(path.relative_to(REPO_ROOT)) for path in _python_files() if _edits_sys_path(path)] == []


@pytest.mark.parametrize("script", [f"pipelines/{name}.py" for name in COMMANDS]
                         + [f"launch/{name}.py" for name in LAUNCHERS])
def test_command_help_from_another_directory(script, tmp_path):
    run = subprocess.run([sys.executable, str(REPO_ROOT / script), "--help"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "usage:" in run.stdout


def _fresh_venv_with_wheel(tmp_path: Path) -> Path:
    """A new venv with the project's wheel installed, and this venv's third-party packages visible to it."""
    # Built from a copy of the sources, so that no build folder of the checkout (stale files included) is used.
    source = tmp_path / "source"
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", "tests", "bench"))
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheels), str(source)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheels.glob("marco_curation-*.whl")
    env_dir = tmp_path / "fresh-venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # A path listed in a .pth file is added to sys.path after the venv's own site-packages, and its own .pth
    # files (the editable install of this checkout among them) are not processed.
    ours = [p for p in sys.path if p.endswith("site-packages") and p.startswith(sys.prefix)]
    Path(site, "zz_project_dependencies.pth").write_text("\n".join(ours) + "\n")
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    return python


@pytest.mark.slow
def test_installed_wheel_curates_the_demo_from_another_directory(tmp_path):
    python = _fresh_venv_with_wheel(tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(python), "-c", "import json, pipelines, operators.resources as r; "
         "print(json.dumps([pipelines.__file__, r.resource_path('quality', 'thresholds.yaml')]))"],
        cwd=work, env=env, capture_output=True, text=True, check=True)
    package, thresholds = json.loads(where.stdout)
    assert package.startswith(str(tmp_path / "fresh-venv")), package
    assert thresholds.startswith(str(tmp_path / "fresh-venv")) and os.path.isfile(thresholds)

    demo = subprocess.run([str(python), "-m", "pipelines.build_demo_warc", "--output", "demo.warc.gz"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr[-3000:]
    curate = subprocess.run([str(python), "-m", "pipelines.curate_cc", "--input", "demo.warc.gz", "--output", "out",
                             "--in-process"], cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert curate.returncode == 0, curate.stderr[-3000:]
    stats = json.loads((work / "out" / "stats.json").read_text())
    operators = {op["name"]: op for op in stats["operators"]}
    # The URL lists, quality word lists and the language-pair model came out of the wheel: every step ran
    # and dropped what the demo pages are built to have dropped.
    assert operators["url_filter"]["dropped"] == {"url_banned_word": 1, "url_blocked_domain": 1}
    assert operators["quality"]["dropped"] == {"quality:max_mojibake_per_kchar": 1, "quality:max_top_4gram_frac": 1}
    assert sum(stats["kept_per_language"].values()) == 10
    assert (work / "out" / "report.html").is_file()
