#!/usr/bin/env python3
"""Does a checkpoint look at its images? Two checks per task on fresh level-0 examples:

- the answer loss with each example's own image, and with the batch's images rotated by one
  (every question paired with another example's image): equal losses mean the answers ignore
  the image;
- how much the vision tower's output varies across the positions of one image (after its final
  layer norm): near zero means every patch looks the same to the language model.

    ../venv/bin/python tools/train/probe.py --run /work/train-runs/builtin-v2 [--checkpoint RUN/weights-step1000.pt]
"""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import encode_examples, load_processor, set_threads  # noqa: E402
from export import checkpoint_arguments, load_checkpoint_model  # noqa: E402
from generate import TASKS, example  # noqa: E402
from train import batch_loss  # noqa: E402


def main():
    parser = checkpoint_arguments(__doc__)
    parser.add_argument("--count", type=int, default=24, help="examples per task")
    args = parser.parse_args()
    set_threads(1)
    model, step = load_checkpoint_model(args.run, args.checkpoint)
    processor = load_processor(args.run / "processor")
    print(f"step {step}")
    for task in TASKS:
        batch = encode_examples(processor, [example(999, i, 0, task) for i in range(args.count)])
        with torch.no_grad():
            own, _ = batch_loss(model, batch)
            rotated, _ = batch_loss(model, dict(batch, pixel_values=batch["pixel_values"].roll(1, 0)))
            vision = model.model.vision_model(pixel_values=batch["pixel_values"][:4].flatten(0, 1)).last_hidden_state
        spread = vision.std(1).mean().item()
        print(f"{task:7s} loss with own images {own:.3f}, with another's {rotated:.3f}; vision output spread across positions {spread:.3f}")


if __name__ == "__main__":
    main()
