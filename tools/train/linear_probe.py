#!/usr/bin/env python3
"""Is a bar count, or a bar's label, linearly decodable from a checkpoint's image tokens, and more
or less so than from an untrained vision tower? A direct test of whether training taught the tower
anything, and of whether what a question needs reaches the decoder at all.

    ../venv/bin/python tools/train/linear_probe.py --run /work/train-runs/builtin-v2 \
        [--checkpoint RUN/weights-step1000.pt] [--max-pool] [--target count|label]

`count`: 600 level-0 bar charts (1-4 bars, seeded), the connector's 64 output tokens pooled (mean,
or mean and max), standardised; a linear classifier trained on 450 and scored on the other 150, for
the checkpoint and for the same model freshly initialised. Mean pooling is what one attention head
spread over the image tokens can compute.
`label`: 800 level-0 charts with a single bar (so its label sits centred under the plot), the
label (one of the generator's words) from the 8 image tokens of the bottom two rows' middle four
columns, concatenated: trained on 600, scored on 200.
"""
import itertools
import random
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import init_vision_embeddings, load_processor, set_threads  # noqa: E402
from export import checkpoint_arguments, load_checkpoint_model  # noqa: E402
from generate import bar_chart  # noqa: E402


def single_bar_charts(count, name):
    """(image, label) for the first `count` level-0 bar charts with a single bar, seeded by `name`."""
    charts = (bar_chart(random.Random(f"{name}:{i}"), 0, 1.0) for i in itertools.count())
    return list(itertools.islice(((image, info["words"][0]) for image, info in charts if info["n"] == 1), count))


def token_grid(model, processor, images):
    """The connector's output tokens, (images, 64, hidden), in row-major order of the 8 x 8 grid."""
    rows = []
    with torch.no_grad():
        for i in range(0, len(images), 50):
            pixels = processor.image_processor([[image] for image in images[i:i + 50]], return_tensors="pt")["pixel_values"]
            tokens = model.model.get_image_features(pixel_values=pixels).pooler_output  # a tensor per image
            tokens = torch.stack(list(tokens))
            tokens = tokens.reshape(pixels.shape[0], -1, tokens.shape[-1])
            rows.append(tokens)
    return torch.cat(rows)


def standardised(x):
    return (x - x.mean(0)) / (x.std(0) + 1e-6)


def pooled_features(tokens, max_pool):
    return standardised(torch.cat([tokens.mean(1), tokens.amax(1)], -1) if max_pool else tokens.mean(1))


def label_features(tokens):
    side = int(tokens.shape[1] ** 0.5)
    grid = tokens.reshape(tokens.shape[0], side, side, -1)
    return standardised(grid[:, -2:, side // 2 - 2:side // 2 + 2].flatten(1))


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
    parser = checkpoint_arguments(__doc__)
    parser.add_argument("--max-pool", action="store_true", help="pool by mean and maximum, not mean alone (count)")
    parser.add_argument("--target", default="count", choices=["count", "label"])
    args = parser.parse_args()
    set_threads(2)
    model, step = load_checkpoint_model(args.run, args.checkpoint)
    model.eval()
    torch.manual_seed(20240901)
    fresh = type(model)(model.config)
    init_vision_embeddings(fresh)
    fresh.eval()
    processor = load_processor(str(args.run / "processor"))
    if args.target == "count":
        charts = [bar_chart(random.Random(f"linear-probe:{i}"), 0, 1.0) for i in range(600)]
        targets = torch.tensor([info["n"] - 1 for _, info in charts])
        what, features = "bar count (1-4)", lambda tokens: pooled_features(tokens, args.max_pool)
        where = f"{'mean+max' if args.max_pool else 'mean'}-pooled image tokens"
    else:
        charts = single_bar_charts(800, "linear-probe")
        words = sorted({label for _, label in charts})
        targets = torch.tensor([words.index(label) for _, label in charts])
        what, features = f"the single bar's label (one of {len(words)})", label_features
        where = "the 8 image tokens under the plot"
    images, train = [image for image, _ in charts], len(charts) * 3 // 4
    chance = max((targets[train:] == k).float().mean().item() for k in range(int(targets.max()) + 1))
    for name, candidate in [(f"checkpoint (step {step})", model), ("freshly initialised", fresh)]:
        x = features(token_grid(candidate, processor, images))
        accuracy = held_out_accuracy(x, targets, int(targets.max()) + 1, train)
        print(f"{name}: {what} from {where}, held-out accuracy {accuracy:.2f} (most common {chance:.2f})")


if __name__ == "__main__":
    main()
