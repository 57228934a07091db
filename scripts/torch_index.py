"""Which index `make setup` installs torch from: prints the pip options (empty: pip's own index).

    python scripts/torch_index.py [auto|cpu|pip|INDEX_URL]     (the Makefile's TORCH_INDEX)

On Linux, pip's own index (PyPI) serves the multi-GB CUDA build of torch; PyTorch's CPU wheel index
serves the ~200 MB CPU build. `auto` takes the CPU index on a Linux machine without an NVIDIA GPU
when that index answers within PROBE_TIMEOUT seconds, and pip's own index otherwise (a GPU machine,
macOS and Windows, whose PyPI wheels are the right ones, or a machine that cannot reach it: offline
mirrors and local wheels keep working). The probe is one HEAD request with a short timeout, so it
never hangs a CI job. Standard library only: it runs before the virtual environment exists.
"""

from __future__ import annotations

import os
import shutil
import sys
import urllib.error
import urllib.request

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_TIMEOUT = 5.0


def has_nvidia_gpu() -> bool:
    return shutil.which("nvidia-smi") is not None or os.path.exists("/proc/driver/nvidia/version")


def reachable(index: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether `index`/torch/ answers a HEAD request within `timeout` seconds."""
    try:
        request = urllib.request.Request(f"{index.rstrip('/')}/torch/", method="HEAD")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status < 400
    except (urllib.error.URLError, OSError, ValueError):
        return False


def pip_options(mode: str, *, platform: str = sys.platform, gpu: bool | None = None,
                cpu_index: str = CPU_INDEX, timeout: float = PROBE_TIMEOUT) -> list[str]:
    if mode == "pip":
        return []
    if mode == "cpu":
        return ["--index-url", cpu_index]
    if mode != "auto":  # an index URL
        return ["--index-url", mode]
    if platform != "linux" or (has_nvidia_gpu() if gpu is None else gpu):
        return []
    return ["--index-url", cpu_index] if reachable(cpu_index, timeout) else []


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "auto"
    options = pip_options(mode)
    source = options[1] if options else "pip's own index"
    print(f"torch from {source} (TORCH_INDEX={mode})", file=sys.stderr)
    print(" ".join(options))


if __name__ == "__main__":
    main()
