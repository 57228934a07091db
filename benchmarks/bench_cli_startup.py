"""Start-up time of the command line: `--help`, a usage error, and (for scale) `import torch`.

Each is a fresh `python -m animate_anyone.cli ...` process, timed wall-clock from launch to exit,
alternated round by round so that load on a shared machine hits all alike; medians are reported with
each one's ratio to a bare `python -c pass` and to `import torch` (what every command paid at parse
time before imports were made lazy).

    python benchmarks/bench_cli_startup.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "animate-anyone --help": [sys.executable, "-m", "animate_anyone.cli", "--help"],
    "animate-anyone animate (usage error)": [sys.executable, "-m", "animate_anyone.cli", "animate"],
    "animate-anyone pose extract --help": [sys.executable, "-m", "animate_anyone.cli", "pose", "extract", "--help"],
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
}


def time_once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="runs of each case (default 7)")
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.rounds):
        for name, argv in CASES.items():
            times[name].append(time_once(argv))
    medians = {name: statistics.median(values) for name, values in times.items()}
    bare, torch_import = medians["python -c pass"], medians["python -c 'import torch'"]
    print(f"| command | median s ({args.rounds} runs) | / bare python | / import torch |")
    print("|---|---|---|---|")
    for name, median in medians.items():
        print(f"| `{name}` | {median:.3f} | {median / bare:.1f} | {median / torch_import:.2f} |")


if __name__ == "__main__":
    main()
