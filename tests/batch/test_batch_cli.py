"""`animate-anyone batch` in one process: the JOBS file checked up front, reruns, --retry-failed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from batch_helpers import MODEL_OPTIONS, hidden_files, job, manifest_states, pose_frames, write_inputs, write_jobs

from animate_anyone.cli import main
from animate_anyone.data.video_io import video_info, write_video
from animate_anyone.provenance import read_credentials, read_label


def write_signing_chain(folder: Path) -> tuple[Path, Path]:
    """The provenance tests' throwaway C2PA certificate chain (tests/provenance/provenance_helpers.py)."""
    path = Path(__file__).parents[1] / "provenance" / "provenance_helpers.py"
    spec = importlib.util.spec_from_file_location("provenance_helpers", path)
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    return helpers.write_signing_chain(folder)


def test_bad_lines_are_all_listed_and_nothing_runs(tmp_path, capsys):
    write_inputs(tmp_path)
    jobs = write_jobs(tmp_path / "jobs.jsonl", [
        job("good.mp4"),
        "not json at all",
        '["a", "list"]',
        job("missing_reference.mp4", reference="nope.png"),
        job("missing_pose.mp4", pose="nope_kps.mp4"),
        job("unknown_option.mp4", strength=2),
        job("bad_size.mp4", width=30),
        job("good.mp4", seed=1),
        job("../outside.mp4"),
        job("batch_wide.mp4", device="cuda"),
        "",  # blank lines are skipped
        job("bad_type.mp4", steps="many"),
        job("signed.mp4", c2pa_cert="chain.pem"),
    ])
    out = tmp_path / "out"
    assert main(["batch", str(jobs), "--output-dir", str(out), *MODEL_OPTIONS]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    expected = {2: "not a JSON object", 3: "not a JSON object", 4: "image not found", 5: "pose input not found",
                6: "unrecognized arguments: --strength=2", 7: "multiples of 8", 8: "also written by line 1",
                9: "inside the output folder", 10: "for the whole batch", 12: "invalid int value",
                13: "for the whole batch"}
    assert len(lines) == len(expected) + 1
    for line, (number, message) in zip(lines, expected.items()):
        assert line.startswith(f"animate-anyone: error: {jobs} line {number}: ") and message in line, line
    assert lines[-1] == f"animate-anyone: error: {len(expected)} bad job(s) in {jobs}: nothing was run"
    assert not out.exists()


def test_missing_or_empty_jobs_file_or_bad_options_are_one_line(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["batch", str(tmp_path / "nope.jsonl"), "--output-dir", str(out), *MODEL_OPTIONS]) == 2
    assert capsys.readouterr().err.strip() == f"animate-anyone: error: jobs file not found: {tmp_path / 'nope.jsonl'}"
    empty = write_jobs(tmp_path / "empty.jsonl", ["", ""])
    assert main(["batch", str(empty), "--output-dir", str(out), *MODEL_OPTIONS]) == 2
    assert capsys.readouterr().err.strip() == f"animate-anyone: error: no jobs in {empty}"
    assert main(["batch", str(empty), "--output-dir", str(empty), *MODEL_OPTIONS]) == 2
    message = f"animate-anyone: error: --output-dir must be a folder, got the file {empty}"
    assert capsys.readouterr().err.strip() == message
    assert main(["batch", str(empty), "--output-dir", str(out), *MODEL_OPTIONS, "--c2pa-cert", str(empty)]) == 2
    assert capsys.readouterr().err.strip() == "animate-anyone: error: --c2pa-cert and --c2pa-key go together"
    assert not out.exists()


def test_reruns_skip_what_is_done_and_redo_what_changed(tmp_path, capsys):
    write_inputs(tmp_path)
    jobs = [job("a.mp4"), job("b.mp4", pose="broken_kps.mp4"), job("sub/c.mp4", seed=2, contact_sheet="sub/c.png",
                                                                    context_frames=2, context_overlap=1)]
    jobs_file = write_jobs(tmp_path / "jobs.jsonl", jobs)
    out = tmp_path / "out"
    command = ["batch", str(jobs_file), "--output-dir", str(out), *MODEL_OPTIONS]

    assert main(command) == 1  # b failed at run time: the pose file exists but is not a video
    captured = capsys.readouterr()
    assert "batch: 2 done, 1 failed, 0 skipped" in captured.out
    assert "failed: line 2 (b.mp4): cannot read video" in captured.out
    assert video_info(out / "a.mp4").num_frames == 3 and (out / "sub" / "c.png").is_file()
    assert manifest_states(out) == {"a.mp4": "done", "b.mp4": "failed", "sub/c.mp4": "done"}
    failed = json.loads((out / "manifest.json").read_text())["jobs"][1]
    assert failed["error"].startswith("cannot read video") and "\n" not in failed["error"]
    assert hidden_files(out) == []

    mtimes = {path: path.stat().st_mtime_ns for path in out.rglob("*.mp4")}
    jobs[2]["seed"] = 3  # a changed job runs again; the failed one is skipped until --retry-failed
    write_jobs(jobs_file, jobs)
    assert main(command) == 1
    captured = capsys.readouterr()
    assert "batch: 1 done, 0 failed, 2 skipped" in captured.out and "--retry-failed" in captured.out
    assert (out / "a.mp4").stat().st_mtime_ns == mtimes[out / "a.mp4"]
    assert (out / "sub" / "c.mp4").stat().st_mtime_ns != mtimes[out / "sub" / "c.mp4"]

    write_video(tmp_path / "broken_kps.mp4", pose_frames(), fps=8)  # the input is fixed, the job is the same
    assert main([*command, "--retry-failed"]) == 0
    assert "batch: 1 done, 0 failed, 2 skipped" in capsys.readouterr().out
    assert manifest_states(out) == {"a.mp4": "done", "b.mp4": "done", "sub/c.mp4": "done"}
    assert video_info(out / "b.mp4").fps == 8.0  # the pose video's frame rate, as `animate` does


def test_outputs_are_written_as_animate_writes_them(tmp_path, capsys):
    # through the provenance writer: labelled, marked unless the job says no_watermark, C2PA-signed by the
    # batch's one signing identity
    write_inputs(tmp_path)
    chain, key = write_signing_chain(tmp_path)
    jobs_file = write_jobs(tmp_path / "jobs.jsonl", [job("a.mp4", seed=5), job("b.mp4", no_watermark=True)])
    out = tmp_path / "out"
    assert main(["batch", str(jobs_file), "--output-dir", str(out), *MODEL_OPTIONS, "--c2pa-cert", str(chain),
                 "--c2pa-key", str(key)]) == 0
    assert "labelled AI-generated, watermarked, C2PA-signed" in capsys.readouterr().out
    marked, unmarked = read_label(out / "a.mp4"), read_label(out / "b.mp4")
    assert (marked["ai_generated"], marked["model"], marked["seed"], marked["settings"]["steps"]) == (
        True, "tiny-random", 5, 2)
    assert marked["watermark"] is not None and unmarked["watermark"] is None and unmarked["seed"] == 0
    assert [read_credentials(out / name).state for name in ("a.mp4", "b.mp4")] == ["valid", "valid"]
