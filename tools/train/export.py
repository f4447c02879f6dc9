#!/usr/bin/env python3
"""Write a training checkpoint as a HuggingFace SmolVLM / Idefics3 model folder.

    ../venv/bin/python tools/train/export.py --run /work/train-runs/builtin-v1 --out Models/builtin [--dtype bfloat16]

The folder is what `save_pretrained` writes for the model and its processor (config.json,
generation_config.json, model.safetensors, tokenizer.json, tokenizer_config.json, processor configs,
chat template), by default converted to the layout transformers 4.x gave every published SmolVLM
(flat preprocessor_config.json, chat_template.json, rope_theta) exactly as
tools/fixtures/make_smolvlm_fixtures.py does for Tests/Fixtures/smolvlm/idefics3-f32; `--layout 5` keeps
transformers 5's. The export is checked by loading it back with AutoModelForImageTextToText and
AutoProcessor and comparing greedy answers on a few generated examples with the checkpoint's.
"""
import argparse
import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "fixtures"))
from common import load_processor, set_threads  # noqa: E402


def checkpoint_arguments(description):
    """An argument parser with --run and --checkpoint, for the scripts that read a run's weights."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, help="default RUN/checkpoint.pt; also RUN/weights-stepN.pt")
    return parser


def load_checkpoint_model(run, checkpoint=None):
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration
    config = Idefics3Config.from_pretrained(run / "processor")
    model = Idefics3ForConditionalGeneration(config)
    path = checkpoint or run / "checkpoint.pt"
    state = torch.load(path, map_location="cpu", weights_only=False)
    step = state.get("step") if isinstance(state, dict) and "model" in state else None
    model.load_state_dict(state["model"] if "model" in state else state)
    return model.eval(), step


def export(run, out, checkpoint=None, dtype="float32", layout="4"):
    model, step = load_checkpoint_model(run, checkpoint)
    processor = load_processor(run / "processor")
    # The processor files as train.py saved them with save_pretrained (re-saving a processor loaded with
    # an explicit image_processor= fails in transformers 5.24).
    card = out / "README.md"  # the model card is written by hand: kept across exports
    card_text = card.read_text() if card.exists() else None
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if card_text is not None:
        card.write_text(card_text)
    model.to(getattr(torch, dtype)).save_pretrained(out)
    for f in (run / "processor").iterdir():
        if f.name != "config.json":
            shutil.copy(f, out / f.name)
    tok = processor.tokenizer
    eou = tok.convert_tokens_to_ids("<end_of_utterance>")
    (out / "generation_config.json").write_text(json.dumps(
        {"bos_token_id": tok.bos_token_id, "eos_token_id": [eou, tok.pad_token_id], "pad_token_id": tok.pad_token_id,
         "transformers_version": json.loads((out / "config.json").read_text()).get("transformers_version")}, indent=2) + "\n")
    # The compact tokenizer.json (save_pretrained pretty-prints it).
    (out / "tokenizer.json").write_text(tok.backend_tokenizer.to_str() + "\n")
    if layout == "4":
        from make_smolvlm_fixtures import to_transformers4_layout
        to_transformers4_layout(out)
    return model, step


def check(out, model, count=6, seed=4242):
    """Loads the folder as a user would and compares greedy answers with the checkpoint's."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from generate import TASKS, example
    from train import greedy_answer
    loaded = AutoModelForImageTextToText.from_pretrained(out, dtype=torch.float32).eval()
    auto = AutoProcessor.from_pretrained(out)
    pil = load_processor(out)
    assert type(auto).__name__ == "Idefics3Processor", type(auto)
    same = 0
    for i in range(count):
        ex = example(seed, i, 2, list(TASKS)[i % len(TASKS)])
        n = 220 if ex["qtype"] == "ui_html" else 24
        a = greedy_answer(model.float(), pil, ex["image"], ex["question"], n)
        b = greedy_answer(loaded, pil, ex["image"], ex["question"], n)
        same += a == b
        print(f"{ex['qtype']}: {ex['question']!r} -> {b!r} (want {ex['answer']!r}){'' if a == b else ' [differs from checkpoint: ' + repr(a) + ']'}")
    print(f"{same}/{count} greedy answers identical to the checkpoint's")


def main():
    parser = checkpoint_arguments(__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--layout", default="4", choices=["4", "5"], help="transformers 4.x (Hub) or 5.x file layout")
    parser.add_argument("--check", type=int, default=6, help="examples to compare after loading back (0: none)")
    args = parser.parse_args()
    set_threads(1)
    model, step = export(args.run, args.out, args.checkpoint, args.dtype, args.layout)
    print(f"wrote {args.out} (step {step}, {args.dtype}, transformers {args.layout}.x layout):")
    for f in sorted(args.out.iterdir()):
        print(f"  {f.name}  {f.stat().st_size} bytes")
    if args.check:
        check(args.out, model, args.check)


if __name__ == "__main__":
    main()
