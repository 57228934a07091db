"""`animate-anyone verify VIDEO...`: does each video carry our invisible mark, label and C2PA manifest?"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_UNMARKED = 1
EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify", help="check videos for the invisible watermark, the AI-generated label and a C2PA manifest",
        description="For each video: whether the invisible watermark is found (with a score, a bound on the chance "
                    "that an unmarked video scores as high, and the payload), the label in the container, and the "
                    "C2PA manifest (valid, invalid or absent, and the signer). Exit code 0 when every video is "
                    "marked, 1 when one is not, 2 for a video that cannot be read.")
    parser.add_argument("videos", nargs="+", metavar="VIDEO", help="videos to check")
    parser.add_argument("--json", action="store_true", help="print one JSON list instead of text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from animate_anyone.errors import InputError
    from animate_anyone.provenance import verify_video
    from animate_anyone.provenance.verify import describe

    reports, errors = [], []
    for path in args.videos:
        try:
            reports.append(verify_video(path))
        except InputError as error:
            errors.append(error)
            if not args.json:
                print(f"animate-anyone: error: {error}", file=sys.stderr)
            continue
        if not args.json:
            print(describe(reports[-1]))
    if args.json:
        print(json.dumps([report.to_dict() for report in reports] + [{"error": str(error)} for error in errors],
                         indent=2))
    if errors:
        return EXIT_BAD_INPUT
    return 0 if all(report.marked for report in reports) else EXIT_UNMARKED
