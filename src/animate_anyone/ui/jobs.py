"""Generation jobs: one at a time per model, first come first served, each with its progress and a cancel flag.

A job waits in its model's line (`ModelQueue.wait_turn` reports its place), runs, and leaves the line
when it ends however it ends, so a failed or cancelled job never blocks the next. Progress is counted
in denoising steps; the ETA assumes the remaining steps take as long as the ones done.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Job:
    id: int
    model: str
    session: str
    total_steps: int = 0  # known once the request is checked
    steps_done: int = 0
    started: float | None = None  # when it began to run (after waiting its turn)
    cancel_requested: threading.Event = field(default_factory=threading.Event)

    def step_finished(self) -> None:
        self.steps_done += 1

    def eta_seconds(self, now: float | None = None) -> float | None:
        """Seconds left, from the mean time of the steps done so far (None before the first step)."""
        if self.started is None or self.steps_done == 0:
            return None
        elapsed = (now or time.monotonic()) - self.started
        return elapsed / self.steps_done * (self.total_steps - self.steps_done)

    def progress_line(self) -> str:
        eta = self.eta_seconds()
        left = "estimating time left" if eta is None else f"about {eta:.0f} s left"
        return f"denoising step {self.steps_done} of {self.total_steps}, {left}"


class ModelQueue:
    """The line of jobs for one model: the first one runs, the others wait and know their place."""

    def __init__(self) -> None:
        self._line: deque[Job] = deque()
        self._changed = threading.Condition()

    def place(self, job: Job) -> int:
        """0 while `job` runs, n when n jobs are ahead of it."""
        with self._changed:
            return self._line.index(job)

    def wait_turn(self, job: Job, poll_seconds: float) -> Iterator[int]:
        """Join the line; yield the place (every `poll_seconds`) until it is `job`'s turn or it is cancelled."""
        with self._changed:
            self._line.append(job)
        while True:
            with self._changed:
                place = self._line.index(job)
            if place == 0 or job.cancel_requested.is_set():
                return
            yield place
            with self._changed:
                self._changed.wait(poll_seconds)

    def leave(self, job: Job) -> None:
        with self._changed:
            if job in self._line:
                self._line.remove(job)
            self._changed.notify_all()


class JobBoard:
    """Every model's line, and which jobs each browser session has, so that Cancel finds them."""

    def __init__(self, models: list[str]) -> None:
        self.queues = {model: ModelQueue() for model in models}
        self._ids = itertools.count(1)
        self._active: dict[int, Job] = {}
        self._lock = threading.Lock()

    def open(self, model: str, session: str) -> Job:
        job = Job(next(self._ids), model, session)
        with self._lock:
            self._active[job.id] = job
        return job

    def close(self, job: Job) -> None:
        if job.model in self.queues:  # a job for an unknown model was refused before joining a line
            self.queues[job.model].leave(job)
        with self._lock:
            self._active.pop(job.id, None)

    def cancel_session(self, session: str) -> list[int]:
        """Ask every job of `session` to stop; the denoising steps each had done when asked."""
        with self._lock:
            jobs = [job for job in self._active.values() if job.session == session]
        for job in jobs:
            job.cancel_requested.set()
        return [job.steps_done for job in jobs]
