"""Start-up of the command line: parsing imports nothing heavy, and Ctrl-C at any moment is one line, exit 130.

(How long `--help` takes is measured by benchmarks/bench_cli_startup.py, not here.)
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animate_anyone.cli import COMMAND_MODULES

HEAVY = ("torch", "diffusers", "transformers", "accelerate", "mediapipe", "cv2", "av", "numpy", "PIL")


def command(*argv: str) -> list[str]:
    return [sys.executable, "-m", "animate_anyone.cli", *argv]


def test_parsing_imports_no_heavy_library():
    """Every command's parser is built (as for `--help`) without importing torch, mediapipe, ..."""
    probe = ("import sys; from animate_anyone.cli import build_parser; build_parser(); "
             f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_help_and_usage_errors():
    result = subprocess.run(command("--help"), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == ""
    assert all(name in result.stdout for name in COMMAND_MODULES)
    result = subprocess.run(command("animate", "--reference", "x.png"), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith("animate-anyone animate: error: the following arguments")


@pytest.fixture
def animate_command(tmp_path) -> list[str]:
    """An `animate` run that spends seconds importing torch and diffusers, then loading and denoising."""
    reference, pose = tmp_path / "reference.png", tmp_path / "pose.png"
    Image.fromarray(np.full((64, 48, 3), 200, np.uint8)).save(reference)
    pose_image = np.zeros((64, 48, 3), np.uint8)
    pose_image[8:40, 20:28] = (255, 0, 85)
    Image.fromarray(pose_image).save(pose)
    return command("animate", "--reference", str(reference), "--pose", str(pose), "--model", "tiny-random",
                   "--output", str(tmp_path / "out.mp4"), "--width", "32", "--height", "48", "--steps", "20",
                   "--frames", "1")


# Exit code 130, or (rarely, when the signal lands inside `import torch`) death by SIGINT after our one
# line, which a shell reports as the same 130.
INTERRUPTED = (130, -signal.SIGINT)


def start(argv: list[str]) -> subprocess.Popen:
    """The command as a user's shell starts it, with Ctrl-C's default disposition: a test run that was
    itself started in the background (`cmd &` in a script) inherits SIGINT ignored, and Python then
    rightly leaves it ignored."""
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def interrupt(process: subprocess.Popen, when) -> tuple[int, str]:
    """SIGINT once `when()` is true; the exit code and stderr."""
    deadline = time.monotonic() + 120
    while not when() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the command ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    return process.returncode, err


def maps_contain(process: subprocess.Popen, text: str):
    """True once the process has a memory mapping whose path contains `text` (a shared library loaded)."""
    def check() -> bool:
        try:
            return text in Path(f"/proc/{process.pid}/maps").read_text()
        except OSError:
            return False
    return check


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("after", [0.0, 0.5, 1.5])
def test_interrupt_during_start_up_is_one_line(animate_command, after):
    """Ctrl-C in the middle of `import torch` (its library is mapped, the import has not finished), and
    0.5 s and 1.5 s later (the rest of the imports, building the model, the first steps)."""
    process = start(animate_command)
    torch_loading = maps_contain(process, "libtorch")
    seen: list[float] = []

    def moment() -> bool:
        if not seen and torch_loading():
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] >= after

    code, err = interrupt(process, moment)
    assert code in INTERRUPTED and err == "animate-anyone: interrupted\n"



def test_interrupt_while_denoising_is_one_line(animate_command):
    """Ctrl-C once the progress bar has started: the bar's lines, then one line, exit 130, no output."""
    steps = animate_command.index("--steps") + 1
    animate_command[steps] = "200"  # long enough that the signal cannot arrive after the last step
    process = start(animate_command)
    before = ""

    def denoising_started() -> bool:
        nonlocal before
        before += process.stderr.read(1)
        return "denoising" in before

    code, err = interrupt(process, denoising_started)
    assert code in INTERRUPTED
    lines = (before + err).replace("\r", "\n").strip().splitlines()
    assert lines[-1] == "animate-anyone: interrupted"
    assert "Traceback" not in before + err
    output = Path(animate_command[animate_command.index("--output") + 1])
    assert not output.exists() and not list(output.parent.glob("*.mp4*"))
