"""The README's first-session transcript, run verbatim as a new user would: a fresh copy of the
repository (its tracked files), ../shared beside it, a new non-interactive shell whose PATH does not
have the virtual environment. The set-up itself is not redone: the copy's .venv is this checkout's
(built from the same pyproject.toml and constraints.txt), so `make demo` finds it up to date."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MARKER = "<!-- transcript: run by tests/test_readme_transcript.py -->"


def transcript_commands() -> list[str]:
    readme = (REPO / "README.md").read_text()
    block = re.search(re.escape(MARKER) + r"\s*```bash\n(.*?)```", readme, re.S)
    assert block, "README.md lost its transcript block"
    return [line for line in block[1].splitlines() if line.strip() and not line.startswith("#")]


def fresh_copy(destination: Path, shared_dir: Path) -> Path:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    clone = destination / "animate_anyone"
    for name in filter(None, tracked.decode().split("\0")):
        if (REPO / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, clone / name)
    (destination / "shared").symlink_to(shared_dir)
    (clone / ".venv").symlink_to(REPO / ".venv")
    for name in ("pyproject.toml", "constraints.txt"):  # older than the venv built from them
        os.utime(clone / name, (0, 0))
    return clone


@pytest.mark.skipif(not (REPO / ".venv" / "bin" / "animate-anyone").exists(), reason="needs `make setup` first")
def test_readme_first_session_runs_verbatim(tmp_path, shared_dir):
    commands = transcript_commands()
    assert commands[0] == "make demo" and commands[1] == "source .venv/bin/activate"
    clone = fresh_copy(tmp_path, shared_dir)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if ".venv" not in p)
    env = {"PATH": path, "HOME": os.environ.get("HOME", str(tmp_path)), "LANG": "C.UTF-8"}
    script = "set -euo pipefail\n" + "\n".join(f"echo '$ {c}'\n{c}" for c in commands) + "\n"
    result = subprocess.run(["bash", "--noprofile", "--norc", "-c", script], cwd=clone, env=env,
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for output in ("outputs/demo/demo.mp4", "outputs/dance/demo.mp4", "outputs/man.npz", "outputs/man_pose.png",
                   "outputs/anime.mp4", "outputs/synth/meta.json", "outputs/prepared/meta.json"):
        assert (clone / output).is_file(), output
    assert "Traceback" not in result.stderr
