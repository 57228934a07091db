"""The batch manifest: each job's state, kept in the output folder across runs.

Each job has its own state file, `DIR/.batch-state/<output name>.json`, written atomically (temporary
file, then rename) by the one process that runs the job: processes never write the same file and need
no lock, even on a filesystem shared by several machines. The main process merges them into
`DIR/manifest.json` (also written atomically) for people and scripts; reruns read the state files.

States: `running` (started; a process that was killed leaves it so), `done`, `failed` (with a one-line
`error`), `interrupted` (stopped by a signal; its outputs were not written).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from animate_anyone.batch.jobs import STATE_FOLDER, Job
from animate_anyone.data.video_io import atomic_output

MANIFEST_NAME = "manifest.json"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write_json(path: Path, payload: dict) -> None:
    with atomic_output(path) as temp_path:
        temp_path.write_text(json.dumps(payload, indent=2) + "\n")


class Manifest:
    def __init__(self, output_dir: Path, jobs_file: Path):
        self.output_dir = output_dir
        self.jobs_file = jobs_file
        self.state_dir = output_dir / STATE_FOLDER
        self.path = output_dir / MANIFEST_NAME

    def _state_path(self, job: Job) -> Path:
        return self.state_dir / f"{quote(job.name, safe='')}.json"

    def state(self, job: Job) -> dict | None:
        """The job's last recorded state, or None (never run, or its file unreadable)."""
        try:
            return json.loads(self._state_path(job).read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def record(self, job: Job, state: str, **fields) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        _write_json(self._state_path(job), {"output": job.name, "line": job.line, "fingerprint": job.fingerprint,
                                            "state": state, "updated": _now(), **fields})

    def is_finished(self, job: Job) -> bool:
        """Done with these very options, and every output still there."""
        state = self.state(job)
        return (state is not None and state["state"] == "done" and state.get("fingerprint") == job.fingerprint
                and all(path.is_file() for path in job.outputs))

    def failed_before(self, job: Job) -> bool:
        state = self.state(job)
        return state is not None and state["state"] == "failed" and state.get("fingerprint") == job.fingerprint

    def write(self, jobs: list[Job]) -> None:
        """Merge the jobs' states into manifest.json."""
        entries = []
        for job in jobs:
            state = self.state(job)
            if state is None or state.get("fingerprint") != job.fingerprint:
                state = {"output": job.name, "line": job.line, "state": "pending"}
            elif state["state"] == "done" and not self.is_finished(job):
                state = {**state, "state": "pending", "note": "output missing: will run again"}
            entries.append({**state, "line": job.line})
        counts = dict(Counter(entry["state"] for entry in entries))
        _write_json(self.path, {"jobs_file": str(self.jobs_file), "updated": _now(), "counts": counts, "jobs": entries})
