"""`animate-anyone ui`: what --help promises, and one line with exit code 2 for what cannot be served."""

from __future__ import annotations

import pytest

from animate_anyone.cli import main


def test_help_says_where_it_listens_and_what_0000_exposes(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["ui", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "default 127.0.0.1: this computer only" in text
    assert "--host 0.0.0.0 exposes the page, its uploads and results, and this machine's compute" in text
    for option in ("--model", "--port", "--max-frames", "--max-upload-mb"):
        assert option in text


@pytest.mark.parametrize("args, message", [
    (["--max-frames", "0"], "--max-frames must be at least 1"),
    (["--max-upload-mb", "-1"], "--max-upload-mb must be positive"),
    (["--model", "no/such/folder"], "model folder not found"),
])
def test_what_cannot_be_served_is_one_line_and_exit_2(args, message, capsys, tmp_path):
    assert main(["ui", "--port", "1", "--output", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("animate-anyone: error:") and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()
