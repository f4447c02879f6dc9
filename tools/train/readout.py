#!/usr/bin/env python3
"""How often does the image token under a drawn word or shape read as that word (the shape's name)
through the language model's own output matrix? That is what `train.py --word-readout` trains; this
measures it on fresh examples (seed 78, which training never uses), by task and generator level,
with words, numbers (chart ticks) and shapes apart, and a sketch's words by where they are drawn
(header, button, input: a word in two of those lists, such as Search, counts as the first). An
untrained readout scores ~0. With --colours, also how often the token at the centre of a bar, slice,
legend swatch or scene shape reads as its colour's name (`train.py --readout-colours`).

    ../venv/bin/python tools/train/readout.py --run /work/train-runs/builtin-v8 \
        [--checkpoint RUN/weights-stepN.pt] [--per-level 48] [--whole-words] [--colours]
"""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_processor, set_threads  # noqa: E402
from export import checkpoint_arguments, load_checkpoint_model  # noqa: E402
from generate import BUTTON_WORDS, HEADER_WORDS, INPUT_WORDS, example  # noqa: E402
from linear_probe import token_grid  # noqa: E402
from train import GRID, centred_texts, word_targets  # noqa: E402

SEED = 78


def ui_word_kinds(examples):
    """{kind: (examples, GRID * GRID) mask} of the image tokens whose centred text is a header's, a button's
    or an input's word; a word in two of those lists (Search) counts as the first."""
    kinds = {"headers": HEADER_WORDS, "buttons": BUTTON_WORDS, "inputs": INPUT_WORDS}
    masks = {kind: torch.zeros(len(examples), GRID * GRID, dtype=torch.bool) for kind in kinds}
    for i, ex in enumerate(examples):
        for cell, text in centred_texts(ex["drawn"]).items():
            kind = next((kind for kind, words in kinds.items() if text in words), None)
            if kind:
                masks[kind][i, cell] = True
    return masks


def main():
    parser = checkpoint_arguments(__doc__)
    parser.add_argument("--per-level", type=int, default=48, help="examples per task and level")
    parser.add_argument("--whole-words", action="store_true", help="the targets of train.py --readout-whole-words")
    parser.add_argument("--colours", action="store_true", help="also the colours (train.py --readout-colours)")
    args = parser.parse_args()
    set_threads(2)
    model, step = load_checkpoint_model(args.run, args.checkpoint)
    model.eval()
    processor = load_processor(str(args.run / "processor"))
    tokenizer = processor.tokenizer
    print(f"step {step}: tokens read as the word drawn over them (right / tokens with one word centred)")
    for task in ("charts", "ui", "scenes"):
        for level in (0, 1, 2):
            examples = [example(SEED, i, level, task) for i in range(args.per_level)]
            targets = word_targets(tokenizer, examples, args.whole_words)
            with torch.no_grad():
                read = model.lm_head(token_grid(model, processor, [ex["image"] for ex in examples])).argmax(-1)
            numbers = torch.tensor([[t != -100 and tokenizer.convert_ids_to_tokens(t).isdigit() for t in row]
                                    for row in targets.tolist()])
            words = (targets != -100) & ~numbers
            if task == "ui":
                groups = [(kind, words & mask) for kind, mask in ui_word_kinds(examples).items()]
            else:
                groups = [("shapes" if task == "scenes" else "words", words), ("numbers", numbers)]
            groups = [(name, targets, mask) for name, mask in groups]
            if args.colours:
                colours = word_targets(tokenizer, examples, args.whole_words, "painted")
                groups.append(("colours", colours, colours != -100))
            parts = []
            for name, wanted, mask in groups:
                if mask.any():
                    right = int((read[mask] == wanted[mask]).sum())
                    parts.append(f"{name} {right / int(mask.sum()):.2f} ({right}/{int(mask.sum())})")
            print(f"{task:6} level {level}: " + ", ".join(parts))


if __name__ == "__main__":
    main()
