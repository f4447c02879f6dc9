#!/usr/bin/env python3
"""Is a bar count linearly decodable from a checkpoint's image tokens, and more or less so than
from an untrained vision tower? A direct test of whether training taught the tower anything.

    ../venv/bin/python tools/train/linear_probe.py --run /work/train-runs/builtin-v2 \
        [--checkpoint RUN/weights-step1000.pt] [--max-pool]

600 level-0 bar charts (1-4 bars, seeded), the connector's 64 output tokens pooled (mean, or mean
and max), standardised; a linear classifier trained on 450 and scored on the other 150, for the
checkpoint and for the same model freshly initialised. Mean pooling is what one attention head
spread over the image tokens can compute.
"""
import argparse
import random
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import init_vision_embeddings, load_processor, set_threads  # noqa: E402
from export import load_checkpoint_model  # noqa: E402
from generate import bar_chart  # noqa: E402


def pooled_features(model, processor, images, max_pool):
    rows = []
    with torch.no_grad():
        for i in range(0, len(images), 50):
            pixels = processor.image_processor([[image] for image in images[i:i + 50]], return_tensors="pt")["pixel_values"]
            tokens = model.model.get_image_features(pixel_values=pixels).pooler_output  # a tensor per image
            tokens = torch.stack(list(tokens))
            tokens = tokens.reshape(pixels.shape[0], -1, tokens.shape[-1])
            rows.append(torch.cat([tokens.mean(1), tokens.amax(1)], -1) if max_pool else tokens.mean(1))
    x = torch.cat(rows)
    return (x - x.mean(0)) / (x.std(0) + 1e-6)


def held_out_accuracy(x, y, classes, train=450):
    torch.manual_seed(0)
    linear = torch.nn.Linear(x.shape[1], classes)
    optimizer = torch.optim.Adam(linear.parameters(), 1e-2, weight_decay=1e-3)
    for _ in range(300):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(linear(x[:train]), y[:train]).backward()
        optimizer.step()
    return (linear(x[train:]).argmax(1) == y[train:]).float().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, help="default RUN/checkpoint.pt")
    parser.add_argument("--max-pool", action="store_true", help="pool by mean and maximum, not mean alone")
    args = parser.parse_args()
    set_threads(2)
    model, step = load_checkpoint_model(args.run, args.checkpoint)
    model.eval()
    torch.manual_seed(20240901)
    fresh = type(model)(model.config)
    init_vision_embeddings(fresh)
    fresh.eval()
    processor = load_processor(str(args.run / "processor"))
    charts = [bar_chart(random.Random(f"linear-probe:{i}"), 0, 1.0) for i in range(600)]
    images, counts = [image for image, _ in charts], torch.tensor([info["n"] - 1 for _, info in charts])
    chance = max((counts[450:] == k).float().mean().item() for k in range(4))
    for name, candidate in [(f"checkpoint (step {step})", model), ("freshly initialised", fresh)]:
        accuracy = held_out_accuracy(pooled_features(candidate, processor, images, args.max_pool), counts, 4)
        print(f"{name}: bar count (1-4) from {'mean+max' if args.max_pool else 'mean'}-pooled image tokens, "
              f"held-out accuracy {accuracy:.2f} (most common count {chance:.2f})")


if __name__ == "__main__":
    main()
