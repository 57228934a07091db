"""Every video we generate says what it is: an invisible watermark, a label in the container, a signed
C2PA manifest on request; `verify` reads all three back. See docs/provenance.md.

    label = Label(model="tiny128", model_sha256=model_fingerprint(folder), seed=0, settings={...})
    write_generated_video("out.mp4", frames, fps=24, label=label, audio=clip, signing=credentials)
    report = verify_video("out.mp4")   # report.marked, report.mark.payload_hex, report.label, report.credentials
"""

from animate_anyone.provenance.content_credentials import (
    CredentialsReport,
    SigningCredentials,
    load_signing_credentials,
    read_credentials,
)
from animate_anyone.provenance.label import Label, model_fingerprint, read_label, weights_fingerprint
from animate_anyone.provenance.verify import VideoReport, verify_video
from animate_anyone.provenance.writer import write_generated_video

__all__ = [
    "CredentialsReport", "Label", "SigningCredentials", "VideoReport", "load_signing_credentials", "model_fingerprint",
    "read_credentials", "read_label", "verify_video", "weights_fingerprint", "write_generated_video",
]
