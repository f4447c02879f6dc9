#!/usr/bin/env python3
"""Prefill and decode speed of the Llama decoder next to PyTorch + transformers, same run.

A random-weight checkpoint with SmolVLM-256M's text shapes (hidden 576, 30 layers, 9 heads,
3 KV heads, intermediate 1536, vocab 49280, untied) is written to a temporary folder by
tools/fixtures/make_llama_fixtures.py --benchmark, with the SmolVLM fixture tokenizer.
Both sides run float32 on 2 threads: a ~1000-token prompt (prefill), then 32 greedy steps with
the KV cache (decode). Python is timed in-process; the Swift side reports its own timings
(`vqa generate --verbose`), model loading excluded on both. Run from the repository root after
`swift build -c release`, on an otherwise idle machine:

    ../venv/bin/python tools/bench/bench_llama.py [--runs 3]
"""
import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer
from transformers import LlamaForCausalLM

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER = ROOT / "Tests" / "Fixtures" / "tokenizers" / "smolvlm" / "tokenizer.json"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--vqa", type=Path, default=ROOT / ".build" / "release" / "vqa")
    args = parser.parse_args()
    if not args.vqa.exists():
        sys.exit(f"{args.vqa} not found: run `swift build -c release` first")
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "smolvlm-256m-text"
        subprocess.run([sys.executable, str(ROOT / "tools" / "fixtures" / "make_llama_fixtures.py"), "--benchmark", str(folder)],
                       check=True, capture_output=True)
        shutil.copy(TOKENIZER, folder / "tokenizer.json")
        tokenizer = Tokenizer.from_file(str(TOKENIZER))
        source = (ROOT / "README.md").read_text() * 3
        prompt_text = tokenizer.decode(tokenizer.encode(source).ids[:1000])
        prompt_file = Path(tmp) / "prompt.txt"
        prompt_file.write_text(prompt_text)
        ids = torch.tensor([tokenizer.encode(prompt_text).ids])

        model = LlamaForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        prefill_times, decode_rates = [], []
        with torch.no_grad():
            for _ in range(args.runs):
                start = time.perf_counter()
                out = model(ids, use_cache=True)
                prefill_times.append(time.perf_counter() - start)
                past, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
                start = time.perf_counter()
                for _ in range(args.steps):
                    out = model(token, past_key_values=past, use_cache=True)
                    past, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
                decode_rates.append(args.steps / (time.perf_counter() - start))
        torch_prefill = statistics.median(prefill_times)
        torch_decode = statistics.median(decode_rates)

        swift_prefill, swift_decode = [], []
        for _ in range(args.runs):
            result = subprocess.run([str(args.vqa), "generate", "--model", str(folder), "--file", str(prompt_file),
                                     "--max-tokens", str(args.steps + 1), "--ignore-eos", "--verbose"],
                                    check=True, capture_output=True, text=True)
            match = re.search(r"prompt (\d+) tokens in ([\d.]+) s .*?, ([\d.]+) tok/s after the first", result.stderr)
            swift_prefill.append(float(match[2]))
            swift_decode.append(float(match[3]))
        tokens = ids.shape[1]
        print(f"torch {torch.__version__}, transformers {transformers.__version__}, float32, 2 threads; "
              f"{tokens}-token prompt, {args.steps} decode steps, median of {args.runs} runs\n")
        print("| figure | PyTorch + transformers | vqa (Swift) | ratio |")
        print("|---|---|---|---|")
        sp, sd = statistics.median(swift_prefill), statistics.median(swift_decode)
        print(f"| prefill, {tokens} tokens | {torch_prefill:.2f} s ({tokens / torch_prefill:.0f} tok/s) | "
              f"{sp:.2f} s ({tokens / sp:.0f} tok/s) | {torch_prefill / sp:.2f}× |")
        print(f"| decode | {torch_decode:.1f} tok/s | {sd:.1f} tok/s | {sd / torch_decode:.2f}× |")


if __name__ == "__main__":
    main()
