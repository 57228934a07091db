"""`animate-anyone ui` in a child process on a free loopback port, for tests, benchmarks and screenshots."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_page(url: str, process: subprocess.Popen, timeout: float) -> float:
    """Seconds until `url` answers 200; fails if the process exits or `timeout` passes first."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"no page at {url} after {timeout} s")


@dataclass(frozen=True)
class ChildServer:
    url: str
    page_seconds: float  # from spawning the process to the first page
    process: subprocess.Popen


@contextlib.contextmanager
def ui_child(options: list[str], log_path: Path, timeout: float = 120) -> Iterator[ChildServer]:
    """`animate-anyone ui OPTIONS` on 127.0.0.1, once its page answers; its output goes to `log_path`
    (printed to stderr if starting fails); stopped on exit."""
    port = free_loopback_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    with open(log_path, "w+") as log:
        process = subprocess.Popen([sys.executable, "-m", "animate_anyone.cli", "ui", "--host", "127.0.0.1",
                                    "--port", str(port), *options], stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            url = f"http://127.0.0.1:{port}/"
            try:
                seconds = wait_for_page(url, process, timeout)
            except (RuntimeError, TimeoutError):
                log.seek(0)
                print(log.read()[-5000:], file=sys.stderr)
                raise
            yield ChildServer(url, seconds, process)
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with code {process.returncode} while in use")
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
