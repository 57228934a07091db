"""Contact sheets: reference | pose | generated frames, as one image to look at."""

from __future__ import annotations

import numpy as np
from PIL import Image


def contact_sheet(reference: Image.Image, poses: list[Image.Image], frames: list[Image.Image],
                  columns: int = 6, cell_height: int = 192) -> Image.Image:
    """One image: the reference at the left, then `columns` evenly spaced frames, poses above generated."""
    if not frames or len(poses) < len(frames):
        raise ValueError(f"need at least one frame and a pose per frame, got {len(frames)} frames, {len(poses)} poses")
    picks = np.linspace(0, len(frames) - 1, num=min(columns, len(frames))).round().astype(int)
    width, height = frames[0].size
    cell_width = max(1, round(width * cell_height / height))

    def cell(image: Image.Image, rows: int = 1) -> Image.Image:
        return image.convert("RGB").resize((cell_width, cell_height * rows), Image.BICUBIC)

    sheet = Image.new("RGB", (cell_width * (len(picks) + 1), cell_height * 2), (255, 255, 255))
    sheet.paste(cell(reference, rows=2), (0, 0))
    for column, index in enumerate(picks, start=1):
        sheet.paste(cell(poses[index]), (column * cell_width, 0))
        sheet.paste(cell(frames[index]), (column * cell_width, cell_height))
    return sheet
