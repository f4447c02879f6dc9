#!/usr/bin/env python3
"""Decode + preprocess time of `vqa preprocess` next to Pillow + transformers, in one run.

Both sides do the same job on the same files: decode the image (EXIF orientation applied),
run the SmolVLM image processor (SmolVLM-256M/500M settings: longest edge 2048, 512-px tiles,
Lanczos) and produce float32 pixel_values. Run from the repository root, on an otherwise idle
machine, after `swift build -c release`:

    ../venv/bin/python tools/bench/bench_preprocess.py [--runs 7]

Python is timed in-process (no interpreter start-up); the Swift side is timed as a whole
`vqa preprocess` process (start-up, config parsing and printing included), so the comparison
does not flatter us. Reports medians and the ratio.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import PIL
from PIL import Image
import transformers
from transformers import SmolVLMImageProcessorPil
from transformers.image_utils import load_image

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "Tests" / "Fixtures" / "processor" / "models" / "smolvlm"
sys.path.insert(0, str(ROOT / "tools" / "fixtures"))
from make_image_fixtures import photo_like  # noqa: E402  (the same synthetic photo generator)


def median_seconds(function, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--vqa", type=Path, default=ROOT / ".build" / "release" / "vqa")
    args = parser.parse_args()
    if not args.vqa.exists():
        sys.exit(f"{args.vqa} not found: run `swift build -c release` first")

    with tempfile.TemporaryDirectory() as tmp:
        files = {
            "4000x3000 JPEG": Path(tmp) / "photo-4000x3000.jpg",
            "2000x2000 PNG": Path(tmp) / "photo-2000x2000.png",
        }
        photo_like(4000, 3000, 11).save(files["4000x3000 JPEG"], quality=90)
        photo_like(2000, 2000, 12).save(files["2000x2000 PNG"])
        processor = SmolVLMImageProcessorPil.from_pretrained(MODEL)

        print(f"Pillow {PIL.__version__}, transformers {transformers.__version__}, numpy {np.__version__}, "
              f"{os.cpu_count()} CPUs, median of {args.runs} runs\n")
        print("| image | Pillow + transformers (SmolVLMImageProcessorPil) | vqa preprocess (whole process) | speed-up |")
        print("|---|---|---|---|")
        for label, path in files.items():
            def reference():
                image = load_image(str(path))
                return processor(images=[[image]], return_tensors="np")["pixel_values"]
            shape = reference().shape
            python = median_seconds(reference, args.runs)
            command = [str(args.vqa), "preprocess", "--model", str(MODEL), str(path)]
            subprocess.run(command, check=True, capture_output=True)  # warm the file cache
            swift = median_seconds(lambda: subprocess.run(command, check=True, capture_output=True), args.runs)
            print(f"| {label} → {shape[1]} frames | {python * 1000:.0f} ms | {swift * 1000:.0f} ms | {python / swift:.2f}× |")


if __name__ == "__main__":
    main()
