"""`animate-anyone evaluate`: the paper's metrics over two folders of videos matched by name."""

from __future__ import annotations

import argparse
import sys

from animate_anyone.eval import ALL_METRICS, METRICS_WITHOUT_WEIGHTS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="compare generated videos with ground truth (L1, PSNR, PSNR*, SSIM, LPIPS, FID, FID-VID, FVD)",
        description="Compare each generated video with the ground-truth video of the same name. "
        "Prints a per-video table and the mean (markdown, or JSON with --json). "
        "See docs/evaluation.md for the protocol and the weight files.",
    )
    parser.add_argument("--generated", required=True, help="folder of generated videos")
    parser.add_argument("--ground-truth", required=True, help="folder of ground-truth videos (same names)")
    parser.add_argument(
        "--metrics",
        nargs="+",
        metavar="METRIC",
        help=f"any of {', '.join(ALL_METRICS)} (space or comma separated); default: all with --weights-dir, "
        f"else {', '.join(METRICS_WITHOUT_WEIGHTS)}",
    )
    parser.add_argument("--weights-dir", help="folder with the published weight files (LPIPS, FID, FID-VID, FVD)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    parser.add_argument("--cache-dir", default=None,
                        help="feature cache (default: $XDG_CACHE_HOME/animate_anyone/eval_features, "
                             "XDG_CACHE_HOME being ~/.cache when unset)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write cached features")
    parser.add_argument("--device", default="cpu", help="torch device for the networks (default: cpu)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from animate_anyone.eval.evaluate import default_cache_dir, evaluate_folders
    from animate_anyone.runtime import resolve_device

    report = evaluate_folders(
        args.generated,
        args.ground_truth,
        metric_names=args.metrics,
        weights_dir=args.weights_dir,
        cache_dir=None if args.no_cache else args.cache_dir or default_cache_dir(),
        device=resolve_device(args.device),
        progress=lambda name: print(f"evaluating {name}", file=sys.stderr),
    )
    print(report.to_json() if args.json else report.to_markdown())
