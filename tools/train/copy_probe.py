#!/usr/bin/env python3
"""Does the decoder copy a label that its image token already carries? On level-0 bar charts with a
single bar (its label centred under the plot), asked "What is the label of the tallest bar?":

- `answer right`: the first answer token (greedy) is the label's first token;
- `label token reads right`: the image token over the label, as it enters the decoder, reads as the
  label through the output matrix (what `train.py --word-readout` trains; `readout.py` in general);
- per decoder layer, the attention from the answer's position (the prompt's last token) on all
  image tokens and on the label's token (mean over heads, and the head that looks at it most).

A label token that reads right under heavy attention while the answer is wrong means the decoder
finds the word but does not pass it on. Examples are seeded apart from training (as `readout.py`).

    ../venv/bin/python tools/train/copy_probe.py --run /work/train-runs/builtin-v11 \
        [--checkpoint RUN/weights-stepN.pt] [--count 48]
"""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_processor, prompt_text, set_threads  # noqa: E402
from export import checkpoint_arguments, load_checkpoint_model  # noqa: E402
from linear_probe import single_bar_charts  # noqa: E402
from train import word_targets  # noqa: E402

QUESTION = "What is the label of the tallest bar?"


def main():
    parser = checkpoint_arguments(__doc__)
    parser.add_argument("--count", type=int, default=48, help="single-bar charts")
    args = parser.parse_args()
    set_threads(2)
    model, step = load_checkpoint_model(args.run, args.checkpoint)
    model.set_attn_implementation("eager")  # the only implementation that returns attention weights
    processor = load_processor(args.run / "processor")
    image_token = processor.tokenizer.convert_tokens_to_ids("<image>")
    layers = model.config.text_config.num_hidden_layers
    answered = read = n = 0
    on_image, on_label_mean, on_label_max = torch.zeros(layers), torch.zeros(layers), torch.zeros(layers)
    for image, label in single_bar_charts(args.count, "copy-probe"):
        # The label's token cell and its target id, as the readout loss defines them; a label that
        # shares its cell with another text (a tick) has none, and its chart is skipped.
        targets = word_targets(processor.tokenizer, [{"drawn": image.info["drawn"]}])[0]
        want = processor.tokenizer(" " + label, add_special_tokens=False)["input_ids"][0]
        cells = (targets == want).nonzero()
        if not len(cells):
            continue
        cell, n = int(cells[0, 0]), n + 1
        inputs = processor(text=prompt_text(processor, QUESTION), images=[image], return_tensors="pt")
        with torch.no_grad():
            out = model(**inputs, output_attentions=True, output_hidden_states=True)
        positions = (inputs["input_ids"][0] == image_token).nonzero()[:, 0]
        answered += int(out.logits[0, -1].argmax()) == want
        read += int(model.lm_head(out.hidden_states[0][0, positions[cell]]).argmax()) == want
        for layer, attention in enumerate(out.attentions):
            last = attention[0, :, -1]  # (heads, sequence)
            on_image[layer] += last[:, positions].sum(-1).mean()
            on_label_mean[layer] += last[:, positions[cell]].mean()
            on_label_max[layer] += last[:, positions[cell]].max()
    print(f"step {step}, {n} single-bar charts: answer right {answered / n:.2f}, label token reads right {read / n:.2f}")
    for layer in range(layers):
        print(f"layer {layer}: attention on image tokens {on_image[layer] / n:.2f}, on the label's token "
              f"{on_label_mean[layer] / n:.2f} (mean over heads), {on_label_max[layer] / n:.2f} (most attentive head)")


if __name__ == "__main__":
    main()
