"""The commands' one rule for what they write.

A file named by an option (`--output OUT.mp4`, `--render`, `--contact-sheet`) is checked before any
work starts (its suffix, its folder exists) and written through a temporary file renamed into place;
if it exists already it is replaced, and a one-line warning says so at the start, while there is
still time to press Ctrl-C. A folder that a command builds as a whole (`convert`'s pipeline folder,
`data prepare`/`data synth` datasets) must be new: it is never merged into or replaced.
"""

from __future__ import annotations

import warnings
from pathlib import Path


def output_file(path: str | Path, suffixes: tuple[str, ...], what: str = "--output") -> Path:
    """`path` checked as an output file of one of `suffixes`; warns when it will replace a file."""
    from animate_anyone.errors import InputError

    output = Path(path)
    if output.suffix.lower() not in suffixes:
        raise InputError(f"{what} must be a {' or '.join(suffixes)} file, got {output}")
    if output.is_dir():
        raise InputError(f"{what} {output} is a folder; give a file name")
    if not output.resolve().parent.is_dir():
        raise InputError(f"output folder does not exist: {output.resolve().parent}")
    if output.exists():
        warnings.warn(f"{output} exists and will be replaced", stacklevel=2)
    return output
