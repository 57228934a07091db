"""Seconds from starting `animate-anyone ui` (the shipped model) to its first page, and to a model that is warm.

Each run starts a fresh server process on a free loopback port and times, from the moment it is
spawned: the first HTTP 200 for the page (target: under 10 s on 2 cores), and the first finished
1-step, 1-frame job (the model loaded and run once: what the first user waits at most for a model).
The median of the runs is printed with the server's CPU time to its first page and the machine's load
average: on a shared machine the wall time of the imports (torch, diffusers, gradio) grows with every
other process, while their CPU time is what a quiet machine would take, nearly (they run on one core).

    python benchmarks/bench_ui_startup.py [--runs 3] [--model DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from animate_anyone.ui.child_server import ui_child
from animate_anyone.ui.examples import SAMPLE_MEDIA, example_references

TARGET_SECONDS = 10.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(model: str, options: list[str], folder: Path) -> tuple[float, float, float]:
    from gradio_client import Client, handle_file

    reference = example_references(folder / "examples")[0]
    spawned = time.monotonic()
    with ui_child(options, folder / "server.log", timeout=300) as server:
        page_cpu = cpu_seconds(server.process.pid)
        client = Client(server.url, verbose=False)
        status = client.predict(model, handle_file(str(reference)), None, "generated motion 1", 128, 128, 1, 1, 1.0, 0,
                                24, 4, False, api_name="/generate")[0]
        warm_seconds = time.monotonic() - spawned
    assert status.startswith("Done"), status
    return server.page_seconds, page_cpu, warm_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", default=None, help="a pipeline folder instead of the shipped model")
    args = parser.parse_args()
    options = ["--model", args.model] if args.model else []
    model = Path(args.model).resolve().name if args.model else "tiny128"
    pages, cpus, warms = [], [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            page, cpu, warm = one_run(model, options, Path(folder))
        pages.append(page)
        cpus.append(cpu)
        warms.append(warm)
        print(f"run {run + 1}: first page {page:.2f} s wall, {cpu:.2f} s CPU; first job done {warm:.2f} s "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    page = statistics.median(pages)
    print(f"median of {args.runs}: first page {page:.2f} s wall ({page / TARGET_SECONDS:.2f} of the "
          f"{TARGET_SECONDS:g} s target), {statistics.median(cpus):.2f} s CPU; first job done "
          f"{statistics.median(warms):.2f} s; {os.cpu_count()} cores; sample media "
          f"{'present' if SAMPLE_MEDIA.is_dir() else 'absent'}")


if __name__ == "__main__":
    main()
