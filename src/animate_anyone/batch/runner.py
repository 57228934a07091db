"""Run batch jobs in one process or shared between processes (accelerate), recording each job's state.

Every process plans the same work from the manifest (finished jobs are skipped, failed ones too unless
`retry_failed`), waits for the others, then runs its share (`PartialState.split_between_processes`), or
every job when the processes work on each job together (window-parallel denoising), in which case the
main process alone records states. A failing job is recorded with its one-line error and the batch goes
on; an interrupt (Ctrl-C, or SIGTERM through `stop_on_sigterm`) records the job as interrupted and
stops (its outputs are written through temporary files, so nothing partial is left).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from accelerate import PartialState

from animate_anyone.batch.jobs import Job
from animate_anyone.batch.manifest import Manifest
from animate_anyone.errors import InputError


@dataclass
class Summary:
    done: int = 0  # run now, successfully
    failed: int = 0  # run now, failed
    skipped: int = 0  # finished before, or failed before and not retried
    failed_before: int = 0  # of the skipped
    seconds: float = 0.0
    failures: list[tuple[Job, str]] = field(default_factory=list)  # every job whose state is failed

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def lines(self) -> list[str]:
        lines = [f"batch: {self.done} done, {self.failed} failed, {self.skipped} skipped in {self.seconds:.1f} s"]
        lines += [f"  failed: line {job.line} ({job.name}): {error}" for job, error in self.failures]
        if self.failed_before:
            lines.append(f"  {self.failed_before} job(s) failed in an earlier run and were skipped: "
                         "rerun with --retry-failed to try them again")
        return lines


def error_line(error: Exception) -> str:
    """One line for the manifest: the message of a bad-input error, the type and message otherwise."""
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return message if isinstance(error, InputError) else f"{type(error).__name__}: {message}".rstrip(": ")


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM (what `accelerate launch` sends its processes when it is stopped) raises
    KeyboardInterrupt, so that temporary files are removed and the running job is recorded as interrupted."""
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_jobs(jobs: list[Job], manifest: Manifest, run_job: Callable[[Job], None], *, retry_failed: bool = False,
             share_jobs: bool = True, state: PartialState) -> Summary:
    """Run the jobs that need it; every process returns the same summary. `state`: this process's."""
    start = time.perf_counter()
    finished = {job.line for job in jobs if manifest.is_finished(job)}
    held_back = {job.line for job in jobs
                 if not retry_failed and job.line not in finished and manifest.failed_before(job)}
    todo = [job for job in jobs if job.line not in finished | held_back]
    state.wait_for_everyone()  # every process has planned before any state changes
    if state.is_main_process:
        manifest.write(jobs)
    records = share_jobs or state.is_main_process
    try:
        with state.split_between_processes(todo) if share_jobs else contextlib.nullcontext(todo) as mine:
            for index, job in enumerate(mine, start=1):
                _run_one(job, manifest, run_job, state, records, _label(state, share_jobs, index, len(mine), job))
                if state.is_main_process:
                    manifest.write(jobs)
    finally:  # interrupted too: manifest.json shows where the batch stopped
        if state.is_main_process:
            manifest.write(jobs)
    state.wait_for_everyone()
    summary = Summary(skipped=len(finished) + len(held_back), failed_before=len(held_back))
    for job in jobs:
        recorded = manifest.state(job) or {}
        if recorded.get("state") == "failed" and recorded.get("fingerprint") == job.fingerprint:
            summary.failures.append((job, recorded.get("error", "")))
        if job.line not in finished | held_back:
            summary.done += recorded.get("state") == "done"
            summary.failed += recorded.get("state") == "failed"
    summary.seconds = time.perf_counter() - start
    if state.is_main_process:
        manifest.write(jobs)
    return summary


def _label(state: PartialState, share_jobs: bool, index: int, count: int, job: Job) -> str | None:
    if not share_jobs and not state.is_main_process:
        return None  # the main process reports jobs run together
    process = f"process {state.process_index}/{state.num_processes} " if share_jobs and state.num_processes > 1 else ""
    return f"[{process}job {index}/{count}] {job.name} (line {job.line})"


def _run_one(job: Job, manifest: Manifest, run_job: Callable[[Job], None], state: PartialState, records: bool,
             label: str | None) -> None:
    if records:
        manifest.record(job, "running", process=state.process_index)
    if label:
        print(f"{label}: started", file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        run_job(job)
    except KeyboardInterrupt:
        if records:
            manifest.record(job, "interrupted", process=state.process_index)
        raise
    except Exception as error:  # noqa: BLE001 - one bad job must not stop the batch: recorded, reported
        seconds = time.perf_counter() - start
        details = {} if isinstance(error, (InputError, OSError)) else {"traceback": traceback.format_exc()}
        if records:
            manifest.record(job, "failed", error=error_line(error), seconds=round(seconds, 2),
                            process=state.process_index, **details)
        if label:
            print(f"{label}: failed after {seconds:.1f} s: {error_line(error)}", file=sys.stderr, flush=True)
    else:
        seconds = time.perf_counter() - start
        if records:
            manifest.record(job, "done", seconds=round(seconds, 2), process=state.process_index)
        if label:
            print(f"{label}: done in {seconds:.1f} s", file=sys.stderr, flush=True)
