#!/usr/bin/env python3
"""SmolVLM-256M-Instruct shapes end to end: vqa next to PyTorch + transformers, same run.

A random-weight checkpoint with the real SmolVLM-256M-Instruct shapes (SigLIP-B/16 at 512 px,
pixel shuffle 4, 30-layer Llama decoder, vocab 49 280) is written to a temporary folder by
tools/fixtures/make_smolvlm_fixtures.py --benchmark. Both sides answer "What is in this chart?"
about Assets/chart.png (640×480 → 12 tiles + a global view = 13 frames of 512×512), greedy,
32 new tokens, float32, 2 threads. Reported: vision encoder time per frame, prefill tokens/s,
decode tokens/s, peak resident memory of the whole process. With --weights f32,bf16,q8, vqa
also runs with its language model held in each of those formats, and the greedy tokens of each
are compared with float32's. Run from the repository root after `swift build -c release`, on an
otherwise idle machine:

    ../venv/bin/python tools/bench/bench_smolvlm.py [--weights f32,bf16,q8]
"""
import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "What is in this chart?"
IMAGE = ROOT / "Assets" / "chart.png"

TORCH_SIDE = r'''
import resource, sys, time, json, torch
from transformers import Idefics3ForConditionalGeneration, Idefics3Processor, Idefics3ImageProcessorPil
from transformers.image_utils import load_image
torch.set_num_threads(2)
folder, image_path, question, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
model = Idefics3ForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
processor = Idefics3Processor.from_pretrained(folder, image_processor=Idefics3ImageProcessorPil.from_pretrained(folder))
start = time.perf_counter()
messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
inputs = processor(text=prompt, images=[[load_image(image_path)]], return_tensors="pt")
preprocess = time.perf_counter() - start
with torch.no_grad():
    pixels = inputs["pixel_values"][0]
    start = time.perf_counter()
    features = model.model.connector(model.model.vision_model(pixel_values=pixels).last_hidden_state)
    vision = time.perf_counter() - start
    ids = inputs["input_ids"]
    embeds = model.model.text_model.get_input_embeddings()(ids)
    embeds[ids == model.config.image_token_id] = features.reshape(-1, features.shape[-1])
    start = time.perf_counter()
    out = model(inputs_embeds=embeds, use_cache=True)
    prefill = time.perf_counter() - start
    past, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
    start = time.perf_counter()
    for _ in range(steps):
        out = model(input_ids=token, past_key_values=past, use_cache=True)
        past, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
    decode = time.perf_counter() - start
print(json.dumps({"frames": pixels.shape[0], "prompt_tokens": ids.shape[1], "preprocess": preprocess, "vision": vision,
                  "prefill": prefill, "decode_rate": steps / decode,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--vqa", type=Path, default=ROOT / ".build" / "release" / "vqa")
    parser.add_argument("--weights", default="f32", help="comma-separated vqa weight formats to run (f32, bf16, q8)")
    args = parser.parse_args()
    formats = args.weights.split(",")
    if not args.vqa.exists():
        sys.exit(f"{args.vqa} not found: run `swift build -c release` first")
    import json
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "smolvlm-256m"
        subprocess.run([sys.executable, str(ROOT / "tools" / "fixtures" / "make_smolvlm_fixtures.py"), "--benchmark", str(folder)],
                       check=True, capture_output=True)
        torch_run = subprocess.run([sys.executable, "-c", TORCH_SIDE, str(folder), str(IMAGE), QUESTION, str(args.steps)],
                                   check=True, capture_output=True, text=True)
        t = json.loads(torch_run.stdout.strip().splitlines()[-1])
        runs = {}
        for weights in formats:
            swift_run = subprocess.run(["/usr/bin/time", "-f", "peak_kb %M", str(args.vqa), "--model", str(folder), "--verbose",
                                        "--weights", weights, "--json", "--ignore-eos", "--max-tokens", str(args.steps + 1),
                                        str(IMAGE), QUESTION], check=True, capture_output=True, text=True)
            line = swift_run.stderr
            m = re.search(r"decode\+preprocess ([\d.]+) s; vision ([\d.]+) s \((\d+) frames.*prefill (\d+) tokens ([\d.]+) s.*at ([\d.]+) tok/s", line)
            runs[weights] = {"preprocess": float(m[1]), "vision": float(m[2]), "frames": int(m[3]), "prompt_tokens": int(m[4]),
                             "prefill": float(m[5]), "decode_rate": float(m[6]), "peak": int(re.search(r"peak_kb (\d+)", line)[1]) / 1024,
                             "tokens": [token["id"] for token in json.loads(swift_run.stdout)["tokens"]]}
        s, peak = runs[formats[0]], runs[formats[0]]["peak"]
        print(f"{t['frames']} frames, {t['prompt_tokens']}-token prompt, {args.steps} decode steps, 2 threads; "
              f"PyTorch float32, vqa {formats[0]}\n")
        print("| figure | PyTorch + transformers | vqa | ratio |")
        print("|---|---|---|---|")
        print(f"| decode + preprocess | {t['preprocess']:.2f} s | {s['preprocess']:.2f} s | {t['preprocess'] / s['preprocess']:.2f}× |")
        print(f"| vision encoder, per 512×512 frame | {t['vision'] / t['frames']:.2f} s | {s['vision'] / s['frames']:.2f} s | "
              f"{t['vision'] / s['vision']:.2f}× |")
        print(f"| prefill | {t['prompt_tokens'] / t['prefill']:.0f} tok/s | {s['prompt_tokens'] / s['prefill']:.0f} tok/s | "
              f"{t['prefill'] / s['prefill']:.2f}× |")
        print(f"| decode | {t['decode_rate']:.1f} tok/s | {s['decode_rate']:.1f} tok/s | {s['decode_rate'] / t['decode_rate']:.2f}× |")
        print(f"| peak memory (whole process) | {t['peak_mb']:.0f} MB | {peak:.0f} MB | {t['peak_mb'] / peak:.2f}× less |")
        if len(formats) > 1:
            base = runs[formats[0]]["tokens"]
            print(f"\n| vqa weights | prefill | decode | vs PyTorch decode | peak memory | greedy tokens equal to {formats[0]}'s |")
            print("|---|---|---|---|---|---|")
            for weights, run in runs.items():
                same = next((i for i, (a, b) in enumerate(zip(run["tokens"], base)) if a != b), len(base))
                print(f"| {weights} | {run['prompt_tokens'] / run['prefill']:.0f} tok/s | {run['decode_rate']:.1f} tok/s | "
                      f"{run['decode_rate'] / t['decode_rate']:.2f}× | {run['peak']:.0f} MB | first {same} of {len(base)} |")


if __name__ == "__main__":
    main()
