"""Keep the native libraries' log chatter off stderr, at the file-descriptor level.

mediapipe's C++ graph (abseil logging) and TensorFlow Lite write INFO/WARNING lines straight to file
descriptor 2 from their own threads when a graph starts ("Created TensorFlow Lite XNNPACK delegate",
"All log messages before absl::InitializeLog()...", "Feedback manager requires a model with a
single signature..."). No environment variable of mediapipe 0.10.14 turns them off (GLOG_minloglevel
and TF_CPP_MIN_LOG_LEVEL were tried), so `quiet_native_logs` points fd 2 at a temporary file around
the calls that emit them and passes on every line that is not such a message (errors included).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from typing import Iterator

# Informational lines: TFLite's "INFO: ...", abseil's pre-init notice, and abseil/glog-format
# INFO and WARNING lines ("I0000 00:00:1796368935.389361   17913 file.cc:114] ..."). E/F lines pass.
NOISE = re.compile(r"INFO: |WARNING: All log messages before absl::InitializeLog\(\)"
                   r"|[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] ")


@contextlib.contextmanager
def quiet_native_logs() -> Iterator[None]:
    """Drop native INFO/WARNING log lines written to fd 2 inside the block; keep the rest, in order."""
    sys.stderr.flush()
    with tempfile.TemporaryFile() as capture:
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode(errors="replace").splitlines(keepends=True)
                    if not NOISE.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
