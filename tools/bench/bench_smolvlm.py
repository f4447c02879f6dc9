#!/usr/bin/env python3
"""SmolVLM-256M-Instruct shapes end to end: vqa next to PyTorch + transformers, same run.

A random-weight checkpoint with the real SmolVLM-256M-Instruct shapes (SigLIP-B/16 at 512 px,
pixel shuffle 4, 30-layer Llama decoder, vocab 49 280) is written to a temporary folder by
tools/fixtures/make_smolvlm_fixtures.py --benchmark. Both sides answer "What is in this chart?"
about Assets/chart.png (640×480 → 12 tiles + a global view = 13 frames of 512×512), greedy,
32 new tokens, float32, 2 threads. Reported: vision encoder time per frame, prefill tokens/s,
decode tokens/s, peak resident memory of the whole process. With --weights f32,bf16,q8, vqa
also runs with its language model held in each of those formats, and the greedy tokens of each
are compared with the first's; a format written WEIGHTS/f16 (bf16/f16, say) also keeps the KV
cache in half precision (`--kv-cache f16`). With --llamacpp DIR (made by tools/bench/setup_llamacpp.py),
llama.cpp's llama-mtmd-cli answers too, its text model in f16 and in Q8_0, its projector in f16.
Time to first token is preprocess + vision + prefill (model loading excluded) for every runtime,
total adds the decode steps. Run from the repository root after `swift build -c release`, on an
otherwise idle machine:

    ../venv/bin/python tools/bench/bench_smolvlm.py [--runs 3] [--weights f32,bf16,q8] [--llamacpp /work/llama.cpp-bench]

Each runtime runs --runs times, in turn, and the medians are reported. probe.c measures the
machine's float32 GEMM peak and memory read bandwidth in the same run, and the vision encoder's
GFLOP/s and the decoder's weight-read rate are reported against them.
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


def llamacpp(folder, text, steps):
    """One llama-mtmd-cli answer (its default chat template for SmolVLM; greedy with --temp 0), the
    figures read from its log: -lv 4 adds llama.cpp's own timings, timestamps the rest."""
    command = ["/usr/bin/time", "-f", "peak_kb %M", folder / "build" / "bin" / "llama-mtmd-cli", "-m", folder / text,
               "--mmproj", folder / "mmproj-f16.gguf", "--image", IMAGE, "-p", QUESTION, "-n", steps + 1, "-t", 2,
               "--temp", 0, "--ignore-eos", "-lv", 4, "--log-prefix", "--log-timestamps",
               # room for the ~900-token prompt: the model's 8192 would make its KV cache 4× larger
               "-c", 2048]
    log = subprocess.run([str(part) for part in command], check=True, capture_output=True, text=True).stderr

    def stamp(line):  # when a line was logged: minutes.seconds.milliseconds.microseconds since the start
        minutes, seconds, ms, us = map(int, re.search(r"(\d+)\.(\d+)\.(\d+)\.(\d+) \S " + line, log).groups())
        return minutes * 60 + seconds + ms / 1e3 + us / 1e6

    vision = sum(map(int, re.findall(r"mtmd batch encoding done in (\d+) ms", log))) / 1000
    prompt = re.search(r"prompt eval time = +([\d.]+) ms / +(\d+) tokens", log)
    # The last decode is timed only at the next sampling, which never comes: steps + 1 tokens, steps timed.
    decode = re.search(r"print: +eval time = +([\d.]+) ms / +(\d+) runs", log)
    # Preprocess: from the last line before it loads the image to the first vision batch, with the
    # few text tokens before the image. Prefill: llama.cpp times the prompt from its first text
    # batch to the first sampled token, so the vision encoder's batches in between come off.
    return {"preprocess": stamp("encoding mtmd batch") - stamp(" +For normal use cases"), "vision": vision,
            "frames": sum(map(int, re.findall(r"encoding mtmd batch, n_chunks = (\d+)", log))),
            "prompt_tokens": int(prompt[2]), "prefill": float(prompt[1]) / 1000 - vision,
            "decode_rate": int(decode[2]) / (float(decode[1]) / 1000), "peak": int(re.search(r"peak_kb (\d+)", log)[1]) / 1024}


def probe(tmp):
    """The machine's float32 GEMM peak (OpenBLAS) and memory read bandwidth, 2 threads (probe.c)."""
    binary = Path(tmp) / "probe"
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "openblas"], check=True, capture_output=True, text=True).stdout.split()
    subprocess.run(["cc", "-O2", "-fopenmp", str(ROOT / "tools" / "bench" / "probe.c"), "-o", str(binary)] + flags, check=True)
    import json
    return json.loads(subprocess.run([str(binary), "2"], check=True, capture_output=True, text=True).stdout)


def workload_sizes(folder):
    """FLOPs of one vision-encoder frame, the text model's weights, and the KV cache's values per
    position (keys and values of every layer), from the checkpoint."""
    import json
    config = json.loads((folder / "config.json").read_text())
    v = config["vision_config"]
    n, d, i, layers = (v["image_size"] // v["patch_size"]) ** 2, v["hidden_size"], v["intermediate_size"], v["num_hidden_layers"]
    # per layer: q, k, v, o projections; the two MLP matrices; scores and weighted sum; plus the patch embedding
    frame_flops = layers * (8 * n * d * d + 4 * n * d * i + 4 * n * n * d) + 2 * n * 3 * v["patch_size"] ** 2 * d
    from safetensors import safe_open
    with safe_open(str(folder / "model.safetensors"), "np") as f:
        text_parameters = sum(f.get_slice(k).get_shape()[0] * (f.get_slice(k).get_shape()[1] if len(f.get_slice(k).get_shape()) > 1 else 1)
                              for k in f.keys() if k.startswith(("model.text_model.", "lm_head.")))
    t = config["text_config"]
    head_dim = t.get("head_dim") or t["hidden_size"] // t["num_attention_heads"]
    cache_values_per_position = 2 * t["num_hidden_layers"] * t["num_key_value_heads"] * head_dim
    return frame_flops, text_parameters, cache_values_per_position


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3, help="repetitions, alternating runtimes; medians are reported")
    parser.add_argument("--vqa", type=Path, default=ROOT / ".build" / "release" / "vqa")
    parser.add_argument("--weights", default="f32",
                        help="comma-separated vqa weight formats to run (f32, bf16, q8), each optionally /f16 for a half-precision KV cache")
    parser.add_argument("--llamacpp", type=Path, help="also run llama.cpp, set up in this folder by setup_llamacpp.py")
    args = parser.parse_args()
    formats = args.weights.split(",")
    if not args.vqa.exists():
        sys.exit(f"{args.vqa} not found: run `swift build -c release` first")
    if args.llamacpp and not (args.llamacpp / "text-q8_0.gguf").exists():
        sys.exit(f"no llama.cpp in {args.llamacpp}: run tools/bench/setup_llamacpp.py --dir {args.llamacpp} first")
    import json
    import statistics
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "smolvlm-256m"
        subprocess.run([sys.executable, str(ROOT / "tools" / "fixtures" / "make_smolvlm_fixtures.py"), "--benchmark", str(folder)],
                       check=True, capture_output=True)
        limits = probe(tmp)

        def torch_once():
            run = subprocess.run([sys.executable, "-c", TORCH_SIDE, str(folder), str(IMAGE), QUESTION, str(args.steps)],
                                 check=True, capture_output=True, text=True)
            result = json.loads(run.stdout.strip().splitlines()[-1])
            result["peak"] = result.pop("peak_mb")
            return result

        def vqa_once(spec):
            weights, _, cache = spec.partition("/")
            run = subprocess.run(["/usr/bin/time", "-f", "peak_kb %M", str(args.vqa), "--model", str(folder), "--verbose",
                                  "--weights", weights, "--kv-cache", cache or "f32", "--json", "--ignore-eos", "--max-tokens", str(args.steps + 1),
                                  str(IMAGE), QUESTION], check=True, capture_output=True, text=True)
            line = run.stderr
            m = re.search(r"decode\+preprocess ([\d.]+) s; vision ([\d.]+) s \((\d+) frames.*prefill (\d+) tokens ([\d.]+) s.*at ([\d.]+) tok/s", line)
            return {"preprocess": float(m[1]), "vision": float(m[2]), "frames": int(m[3]), "prompt_tokens": int(m[4]),
                    "prefill": float(m[5]), "decode_rate": float(m[6]), "peak": int(re.search(r"peak_kb (\d+)", line)[1]) / 1024,
                    "tokens": [token["id"] for token in json.loads(run.stdout)["tokens"]]}

        runners = {f"vqa {w}": (lambda w=w: vqa_once(w)) for w in formats}
        runners["PyTorch + transformers"] = torch_once
        if args.llamacpp:
            for name, text in [("f16", "text-f16.gguf"), ("Q8_0", "text-q8_0.gguf")]:
                runners[f"llama.cpp {name}"] = lambda text=text: llamacpp(args.llamacpp, text, args.steps)
        samples = {name: [] for name in runners}
        for _ in range(args.runs):  # alternating, so that a slow spell of the machine hits every runtime
            for name, once in runners.items():
                samples[name].append(once())
        median = {name: {key: (statistics.median(r[key] for r in rs) if key not in ("frames", "prompt_tokens", "tokens") else rs[0][key])
                         for key in rs[0]} for name, rs in samples.items()}
        runs = {w: median[f"vqa {w}"] for w in formats}
        t = median["PyTorch + transformers"]
        references = {name: r for name, r in median.items() if not name.startswith("vqa ")}
        s = runs[formats[0]]
        print(f"{t['frames']} frames, {t['prompt_tokens']}-token prompt, {args.steps} decode steps, 2 threads, median of {args.runs} "
              f"alternating runs; PyTorch float32, vqa {formats[0]}; ratios are the other's time or memory over vqa's\n")
        first = lambda r: r["preprocess"] + r["vision"] + r["prefill"]
        total = lambda r: first(r) + args.steps / r["decode_rate"]
        rows = [  # figure, as printed, and as compared (lower is better)
            ("prompt", lambda r: f"{r['frames']} frames, {r['prompt_tokens']} tokens", None),
            ("decode + preprocess", lambda r: f"{r['preprocess']:.2f} s", lambda r: r["preprocess"]),
            ("vision encoder, per 512×512 frame", lambda r: f"{r['vision'] / r['frames']:.2f} s", lambda r: r["vision"] / r["frames"]),
            ("prefill", lambda r: f"{r['prompt_tokens'] / r['prefill']:.0f} tok/s", lambda r: r["prefill"] / r["prompt_tokens"]),
            ("decode", lambda r: f"{r['decode_rate']:.1f} tok/s", lambda r: 1 / r["decode_rate"]),
            ("time to first token", lambda r: f"{first(r):.2f} s", first),
            ("total", lambda r: f"{total(r):.2f} s", total),
            ("peak memory (whole process)", lambda r: f"{r['peak']:.0f} MB", lambda r: r["peak"]),
        ]
        print("| figure | vqa | " + " | ".join(f"{name} | ratio" for name in references) + " |")
        print("|---|---|" + "---|---|" * len(references))
        for figure, shown, compared in rows:
            print(f"| {figure} | {shown(s)} | " + " | ".join(
                f"{shown(r)} | {compared(r) / compared(s):.2f}×" if compared else f"{shown(r)} | –" for r in references.values()) + " |")
        if len(formats) > 1:
            base = runs[formats[0]]["tokens"]
            print(f"\n| vqa weights | prefill | decode | vs PyTorch decode | peak memory | greedy tokens equal to {formats[0]}'s |")
            print("|---|---|---|---|---|---|")
            for weights, run in runs.items():
                same = next((i for i, (a, b) in enumerate(zip(run["tokens"], base)) if a != b), len(base))
                print(f"| {weights} | {run['prompt_tokens'] / run['prefill']:.0f} tok/s | {run['decode_rate']:.1f} tok/s | "
                      f"{run['decode_rate'] / t['decode_rate']:.2f}× | {run['peak']:.0f} MB | first {same} of {len(base)} |")
        frame_flops, text_parameters, cache_values = workload_sizes(folder)
        bytes_per_weight = {"f32": 4, "bf16": 2, "q8": 36 / 32}  # q8: 32 int8 weights and a float32 scale per block
        context = s["prompt_tokens"] + args.steps / 2  # positions a decoded token attends to, on average
        print(f"\nAgainst this machine's limits (probe.c, 2 threads: OpenBLAS sgemm {limits['sgemm_gflops']:.0f} GFLOP/s, "
              f"memory reads {limits['read_gbps']:.1f} GB/s); one frame is {frame_flops / 1e9:.0f} GFLOP; each decoded token "
              f"reads the text model's {text_parameters / 1e6:.0f} M weights and the KV cache's {cache_values * context / 1e6:.1f} M "
              f"values ({context:.0f} positions on average):\n")
        print("| vqa weights | vision GFLOP/s | of sgemm peak | decode reads (weights + KV cache) | of read bandwidth |")
        print("|---|---|---|---|---|")
        for spec, run in runs.items():
            weights, _, cache = spec.partition("/")
            gflops = frame_flops * run["frames"] / run["vision"] / 1e9
            token_bytes = text_parameters * bytes_per_weight[weights] + cache_values * context * (2 if cache == "f16" else 4)
            gbps = token_bytes * run["decode_rate"] / 1e9
            print(f"| {spec} | {gflops:.0f} | {gflops / limits['sgemm_gflops']:.0%} | {gbps:.1f} GB/s | {gbps / limits['read_gbps']:.0%} |")


if __name__ == "__main__":
    main()
