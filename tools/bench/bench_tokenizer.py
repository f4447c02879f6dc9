#!/usr/bin/env python3
"""Encode throughput of `vqa tokenize` next to HuggingFace `tokenizers`, single thread, one run.

Mixed text (English prose and code from installed Python sources, numbers, CJK, Arabic,
emoji; a few MB) is encoded with each fixture tokenizer. Python: `Tokenizer.from_file` then
`encode` of the whole text, and `encode_batch` of its lines (the many-prompts case), timed
in-process with TOKENIZERS_PARALLELISM=false. Swift: the whole
`vqa tokenize --count --file` process (start-up and tokenizer.json parsing included), and the
same minus a run on an empty file (start-up + loading only). Checks that both count the same
tokens. Run from the repository root after `swift build -c release`:

    ../venv/bin/python tools/bench/bench_tokenizer.py [--megabytes 4] [--runs 3]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["TOKENIZERS_PARALLELISM"] = "false"
import tokenizers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(tokenizers.__file__).resolve().parents[1]


def mixed_text(megabytes):
    sources = sorted((SITE / "transformers" / "models").rglob("*.py"))
    parts, size = [], 0
    extra = ["机器学习是人工智能的一个分支。", "الصورة تظهر قطة على النافذة.", "👨‍👩‍👧‍👦 👍🏽 ok", "3.14159 2,718 1e-9\n"]
    for index, path in enumerate(sources):
        text = path.read_text(errors="ignore")
        parts.append(text)
        parts.append(extra[index % len(extra)] * 20)
        size += len(text.encode())
        if size > megabytes * 1_000_000:
            break
    return "".join(parts)


def median(function, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--vqa", type=Path, default=ROOT / ".build" / "release" / "vqa")
    args = parser.parse_args()
    if not args.vqa.exists():
        sys.exit(f"{args.vqa} not found: run `swift build -c release` first")
    text = mixed_text(args.megabytes)
    megabytes = len(text.encode()) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        corpus, empty = Path(tmp) / "corpus.txt", Path(tmp) / "empty.txt"
        corpus.write_text(text)
        empty.write_text("")
        print(f"tokenizers {tokenizers.__version__}, {megabytes:.1f} MB of mixed text, median of {args.runs} runs, one thread\n")
        print("| tokenizer | tokenizers encode (whole text) | tokenizers encode_batch (lines) | vqa encode (process − start-up) | vqa whole process | vqa ÷ best tokenizers |")
        print("|---|---|---|---|---|---|")
        lines = text.splitlines(keepends=True)
        for name in ["smolvlm", "llama3", "qwen2", "llama2"]:
            folder = ROOT / "Tests" / "Fixtures" / "tokenizers" / name
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            python, encoding = median(lambda: tokenizer.encode(text, add_special_tokens=False), args.runs)
            batch, _ = median(lambda: tokenizer.encode_batch(lines, add_special_tokens=False), args.runs)
            command = [str(args.vqa), "tokenize", "--model", str(folder), "--no-special", "--count", "--file"]
            whole, output = median(lambda: subprocess.run(command + [str(corpus)], check=True, capture_output=True, text=True).stdout, args.runs)
            startup, _ = median(lambda: subprocess.run(command + [str(empty)], check=True, capture_output=True), args.runs)
            assert int(output) == len(encoding.ids), f"{name}: vqa counts {output.strip()}, tokenizers {len(encoding.ids)}"
            swift = whole - startup
            best = min(python, batch)
            print(f"| {name} | {megabytes / python:.1f} MB/s | {megabytes / batch:.1f} MB/s | {megabytes / swift:.1f} MB/s "
                  f"| {whole:.2f} s | {best / swift:.2f}× |")


if __name__ == "__main__":
    main()
