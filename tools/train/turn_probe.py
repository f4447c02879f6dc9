#!/usr/bin/env python3
"""Does a model read an answer from the image, or copy it from an earlier answer about the same
image? On conversations as `train.py --questions 4` (without --separate-turns) renders them, this
scores each answer teacher-forced (right when every answer token is the model's most likely next
token) by question type and by where it sits: the `first` turn (exactly a one-question prompt, as
evaluation asks), a `later` turn, or a `later, copyable` one, whose answer appears word for word in
an earlier answer (a button's word after the HTML page; numbers never count as copyable, since a
count's digit turns up in many answers by chance). A later, copyable answer that is right
far more often than a first one is copied, not read. Examples are level 2, seed 4242 (which
training never uses).

    ../venv/bin/python tools/train/turn_probe.py --model Models/builtin --task ui [--count 320]

`--check-separate-turns` instead checks `encode_examples(..., separate_turns=True)` (what
`train.py --separate-turns` trains on): every turn's tokens and logits must be those of its own
one-question prompt; it prints the largest logit difference.
"""
import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import encode_examples, load_processor, set_threads, turn_attention_mask  # noqa: E402
from generate import TASKS, example  # noqa: E402

SEED = 4242


def answer_spans(labels, eou):
    """The label positions of each answer in one row, in order (each answer ends with <end_of_utterance>)."""
    spans, current = [], []
    for position in (labels != -100).nonzero()[:, 0].tolist():
        current.append(position)
        if labels[position].item() == eou:
            spans.append(current)
            current = []
    return spans


def check_separate_turns(model, processor, task, count):
    worst = 0.0
    for index in range(count):
        ex = example(SEED, index, 2, task, questions=4, reading=True)
        batch = encode_examples(processor, [ex], separate_turns=True)
        with torch.no_grad():
            logits = model(input_ids=batch["input_ids"], pixel_values=batch["pixel_values"],
                           attention_mask=turn_attention_mask(batch["segments"]), position_ids=batch["position_ids"]).logits[0]
        for turn, (question, answer, qtype) in enumerate(ex["turns"]):
            alone = encode_examples(processor, [dict(ex, question=question, answer=answer, qtype=qtype, turns=None)])
            with torch.no_grad():
                alone_logits = model(input_ids=alone["input_ids"], attention_mask=alone["attention_mask"],
                                     pixel_values=alone["pixel_values"]).logits[0]
            own = (batch["segments"][0] == turn + 1).nonzero()[:, 0]
            tail = slice(alone["input_ids"].shape[1] - len(own), None)
            if not torch.equal(batch["input_ids"][0, own], alone["input_ids"][0, tail]):
                sys.exit(f"example {index}, turn {turn}: its tokens differ from its one-question prompt's")
            worst = max(worst, (logits[own] - alone_logits[tail]).abs().max().item())
    print(f"{count} {task} examples: every turn's tokens match its own prompt's; largest logit difference {worst:.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="an exported model folder")
    parser.add_argument("--task", choices=list(TASKS), required=True)
    parser.add_argument("--count", type=int, default=320, help="images (four questions each)")
    parser.add_argument("--check-separate-turns", action="store_true")
    args = parser.parse_args()
    set_threads(2)
    from transformers import Idefics3ForConditionalGeneration
    processor = load_processor(str(args.model))
    model = Idefics3ForConditionalGeneration.from_pretrained(args.model, dtype=torch.float32).eval()
    if args.check_separate_turns:
        return check_separate_turns(model, processor, args.task, args.count)
    eou = processor.tokenizer.convert_tokens_to_ids("<end_of_utterance>")
    scores = defaultdict(lambda: [0, 0])  # (qtype, place) -> [right, answers]
    for start in range(0, args.count, 16):
        examples = [example(SEED, i, 2, args.task, questions=4) for i in range(start, min(args.count, start + 16))]
        batch = encode_examples(processor, examples)
        with torch.no_grad():
            predicted = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                              pixel_values=batch["pixel_values"]).logits[:, :-1].argmax(-1)
        targets = batch["labels"][:, 1:]
        for row, ex in enumerate(examples):
            earlier = ""
            for turn, ((_, answer, qtype), span) in enumerate(zip(ex["turns"], answer_spans(targets[row], eou))):
                right = bool((predicted[row, span] == targets[row, span]).all())
                copyable = re.search(r"[a-z]", answer.lower()) and re.search(rf"\b{re.escape(answer.lower())}\b", earlier.lower())
                place = "first" if turn == 0 else ("later, copyable" if copyable else "later")
                scores[(qtype, place)][0] += right
                scores[(qtype, place)][1] += 1
                earlier += "\n" + answer
    print(f"{'question type':22} {'turn':16} {'answers':>7} {'right':>6}")
    for (qtype, place), (right, count) in sorted(scores.items()):
        print(f"{qtype:22} {place:16} {count:7} {right / count:6.0%}")


if __name__ == "__main__":
    main()
