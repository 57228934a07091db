"""`animate-anyone batch` under `accelerate launch` with two CPU processes (gloo).

One scenario, in launches that build on each other (each launch starts two Python processes, seconds):
4 jobs, one bad → 3 videos, the failure recorded, exit 1; a rerun does nothing; a deleted output is
redone alone; SIGTERM to the launcher in the middle of a job leaves no partial file; a rerun completes.
configs/accelerate/cpu.yaml starts them through torchrun's launcher (accelerate 1.x starts CPU processes
for `--cpu` only through mpirun).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from batch_helpers import MODEL_OPTIONS, hidden_files, job, manifest_states, write_inputs, write_jobs

from animate_anyone.data.video_io import video_info

ACCELERATE = Path(sys.executable).with_name("accelerate")
CPU_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "accelerate" / "cpu.yaml"  # 2 processes
TIMEOUT = 300


def free_port() -> int:
    """A free port for the processes' rendezvous: other test runs may be launching at the same time."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch_command(jobs_file: Path, output_dir: Path) -> list[str]:
    return [str(ACCELERATE), "launch", "--config_file", str(CPU_CONFIG), "--main_process_port", str(free_port()),
            "-m", "animate_anyone.cli", "batch", str(jobs_file), "--output-dir", str(output_dir), *MODEL_OPTIONS]


ENV = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def launch(jobs_file: Path, output_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(launch_command(jobs_file, output_dir), env=ENV, capture_output=True, text=True,
                          timeout=TIMEOUT)


def wait_for(log: Path, process: subprocess.Popen, *needles: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not all(needle in log.read_text() for needle in needles):
        assert process.poll() is None, f"the batch ended before {needles}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)


def test_batch_over_two_processes_records_reruns_and_survives_sigterm(tmp_path):
    write_inputs(tmp_path)
    jobs = [job("a.mp4"), job("b.mp4", seed=1), job("c.mp4", pose="broken_kps.mp4"), job("d.mp4", pose="poses_kps.mp4")]
    jobs_file = write_jobs(tmp_path / "jobs.jsonl", jobs)
    out = tmp_path / "out"

    first = launch(jobs_file, out)
    assert first.returncode == 1, first.stderr[-3000:]
    assert first.stdout.count("batch: 3 done, 1 failed, 0 skipped") == 1  # the main process sums up
    assert "failed: line 3 (c.mp4): cannot read video" in first.stdout
    assert "[process 0/2 job 1/2] a.mp4 (line 1): started" in first.stderr  # progress of each process
    assert "[process 1/2 job 1/2] c.mp4 (line 3): started" in first.stderr
    assert sorted(path.name for path in out.glob("*.mp4")) == ["a.mp4", "b.mp4", "d.mp4"]
    assert all(video_info(out / name).num_frames == 3 for name in ("a.mp4", "b.mp4", "d.mp4"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"done": 3, "failed": 1}
    assert {entry["output"]: entry["process"] for entry in manifest["jobs"]} == {
        "a.mp4": 0, "b.mp4": 0, "c.mp4": 1, "d.mp4": 1}
    assert manifest["jobs"][2]["error"].startswith("cannot read video")

    mtimes = {path.name: path.stat().st_mtime_ns for path in out.glob("*.mp4")}
    rerun = launch(jobs_file, out)
    assert rerun.returncode == 1  # the failed job is still failed
    assert "batch: 0 done, 0 failed, 4 skipped" in rerun.stdout and "started" not in rerun.stderr
    assert {path.name: path.stat().st_mtime_ns for path in out.glob("*.mp4")} == mtimes

    # a.mp4 deleted, and a slow job added: the launcher gets SIGTERM once a.mp4 is redone and the slow job runs
    (out / "a.mp4").unlink()
    write_jobs(jobs_file, [*jobs, job("slow.mp4", steps=60)])
    log = tmp_path / "launch.log"
    with log.open("w") as sink:
        process = subprocess.Popen(launch_command(jobs_file, out), env=ENV, stdout=sink, stderr=subprocess.STDOUT)
        try:
            wait_for(log, process, "a.mp4 (line 1): done", "slow.mp4 (line 5): started")
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=TIMEOUT) != 0
        finally:
            process.kill()
    assert video_info(out / "a.mp4").num_frames == 3
    assert {path.name: path.stat().st_mtime_ns for path in out.glob("*.mp4")} == {
        **mtimes, "a.mp4": (out / "a.mp4").stat().st_mtime_ns}  # only a.mp4 was redone
    assert not (out / "slow.mp4").exists() and hidden_files(out) == []
    assert json.loads((out / ".batch-state" / "slow.mp4.json").read_text())["state"] == "interrupted"

    last = launch(jobs_file, out)
    assert last.returncode == 1 and "batch: 1 done, 0 failed, 4 skipped" in last.stdout, last.stderr[-3000:]
    assert video_info(out / "slow.mp4").num_frames == 3 and hidden_files(out) == []
    assert manifest_states(out) == {"a.mp4": "done", "b.mp4": "done", "c.mp4": "failed", "d.mp4": "done",
                                    "slow.mp4": "done"}
