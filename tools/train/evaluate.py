#!/usr/bin/env python3
"""Exact-match accuracy of a model folder on freshly generated examples, per task and question type.

    # through our Swift runtime (the numbers for the model card):
    ../venv/bin/python tools/train/evaluate.py --model Models/builtin --backend vqa --vqa .build/release/vqa \
        --per-task 500 --out /work/train-runs/eval-vqa.json
    # through transformers (PyTorch):
    ../venv/bin/python tools/train/evaluate.py --model Models/builtin --backend torch --per-task 500
    # do the two agree? greedy token ids on N examples, both backends:
    ../venv/bin/python tools/train/evaluate.py --model Models/builtin --agreement 20 --vqa .build/release/vqa
    # the Swift tests' fixture: 20 examples (images, questions) and transformers' greedy token ids:
    ../venv/bin/python tools/train/evaluate.py --model Models/builtin --write-fixture Tests/Fixtures/builtin --agreement 20

Examples come from generate.example(--seed, i, level 2, task): the full target distribution, with a
seed that training never uses (training uses its --seed, default 20240901, and --seed + 1000003 for its
quick held-out set; the default here is 77). `--chart-styles 1` draws every chart in a free style
instead (generate.styled_bars, styled_line, styled_pie: any aspect, small labels, wide margins,
values over the bars, legends), which shows how far the model's chart reading carries beyond the house style. An answer is
right when it equals the generated one after strip(), and, for answers that are not HTML,
lower-casing and dropping a final period. For UI sketches
(`ui_html`) three more rates are reported: the output parses as balanced HTML (`html_valid`), and it has
the right elements in the right order with the right words, columns included (`html_structure`).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import load_processor, normalise_answer, prompt_text, set_threads  # noqa: E402
from generate import TASKS, example  # noqa: E402

VOID = {"img", "input", "br", "meta", "hr"}


class Structure(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.items, self.ok = [], [], True
        self.current_text = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input":
            self.items.append(("input", attrs.get("placeholder", "")))
        elif tag == "img":
            self.items.append(("img", ""))
        elif tag == "div":
            self.items.append(("div", attrs.get("style", "")))
        if tag not in VOID:
            self.stack.append(tag)
            if tag in ("h1", "button", "p"):
                self.current_text = []

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.ok = False
            return
        self.stack.pop()
        if tag in ("h1", "button", "p"):
            self.items.append((tag, "".join(self.current_text or []).strip() if tag != "p" else ""))
            self.current_text = None
        elif tag == "div":
            self.items.append(("/div", ""))

    def handle_data(self, data):
        if self.current_text is not None:
            self.current_text.append(data)


def html_structure(text):
    parser = Structure()
    try:
        parser.feed(text)
        parser.close()
    except Exception:
        return False, None
    valid = parser.ok and not parser.stack and text.strip().startswith("<!DOCTYPE html>") and \
        text.strip().endswith("</html>")
    return valid, parser.items


class TorchBackend:
    def __init__(self, folder):
        from transformers import AutoModelForImageTextToText
        self.model = AutoModelForImageTextToText.from_pretrained(folder, dtype=torch.float32).eval()
        self.processor = load_processor(folder)
        self.eou = self.processor.tokenizer.convert_tokens_to_ids("<end_of_utterance>")

    @torch.no_grad()
    def answer(self, image, question, max_tokens):
        p = self.processor
        enc = p(text=[prompt_text(p, question)], images=[[image]], return_tensors="pt")
        out = self.model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                  pixel_values=enc["pixel_values"], do_sample=False, max_new_tokens=max_tokens,
                                  eos_token_id=self.eou, pad_token_id=p.tokenizer.pad_token_id)
        ids = out[0, enc["input_ids"].shape[1]:].tolist()
        return p.tokenizer.decode(ids, skip_special_tokens=True), ids


class VqaBackend:
    def __init__(self, folder, vqa):
        self.folder, self.vqa = str(folder), str(vqa)
        self.tmp = Path(tempfile.mkdtemp(prefix="vqa-eval-"))

    def answer(self, image, question, max_tokens):
        path = self.tmp / "image.png"
        image.save(path)
        run = subprocess.run([self.vqa, "--json", "--model", self.folder, "--max-tokens", str(max_tokens), str(path),
                              question], capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            raise RuntimeError(f"vqa failed ({run.returncode}): {run.stderr.strip()[-2000:]}")
        result = json.loads(run.stdout)
        ids = [t["id"] for t in result.get("tokens", [])]
        return result["text"], ids


def max_tokens_for(qtype):
    return 256 if qtype == "ui_html" else 64 if "_read_" in qtype else 32


def examples(seed, per_task, tasks, reading=False, level=2, chart_styles=0.0):
    """The evaluation examples; with `reading`, each image's training-only reading turn (train.py
    --reading: every label, word or shape listed) as its one question, where the image has one.
    `chart_styles`: the share of charts drawn in a free style (train.py --chart-styles)."""
    for task in tasks:
        for i in range(per_task):
            ex = example(seed, i, level, task, reading=reading, chart_styles=chart_styles)
            if reading:
                if len(ex["turns"]) < 2:
                    continue
                ex["question"], ex["answer"], ex["qtype"] = ex["turns"][-1]
            yield ex


def evaluate(backend, args):
    by_type, by_task, html, read_items = {}, {}, {"valid": [], "structure": []}, []
    failures, records = [], []
    started = time.time()
    for n, ex in enumerate(examples(args.seed, args.per_task, args.tasks, args.reading, args.level, args.chart_styles)):
        text, _ = backend.answer(ex["image"], ex["question"], max_tokens_for(ex["qtype"]))
        ok = normalise_answer(text) == normalise_answer(ex["answer"])
        by_type.setdefault(ex["qtype"], []).append(ok)
        by_task.setdefault(ex["task"], []).append(ok)
        if ex["qtype"] == "ui_html":
            valid, items = html_structure(text)
            html["valid"].append(valid)
            html["structure"].append(items is not None and items == html_structure(ex["answer"])[1])
        if args.reading:  # each listed item right in its place
            want, got = normalise_answer(ex["answer"]).split(", "), normalise_answer(text).split(", ")
            read_items += [w == g for w, g in zip(want, got + [""] * len(want))]
        records.append(dict(task=ex["task"], qtype=ex["qtype"], question=ex["question"], want=ex["answer"], got=text, ok=ok))
        if not ok and len(failures) < args.show_failures:
            failures.append(records[-1])
        if (n + 1) % 100 == 0:
            print(f"  {n + 1} examples, {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    rate = lambda v: {"accuracy": round(sum(v) / len(v), 4), "n": len(v)} if v else None
    return {
        "model": str(args.model), "backend": args.backend, "seed": args.seed, "level": args.level, "chart_styles": args.chart_styles,
        "per_task": args.per_task,
        "seconds": round(time.time() - started, 1),
        "tasks": {k: rate(v) for k, v in sorted(by_task.items())},
        "question_types": {k: rate(v) for k, v in sorted(by_type.items())},
        "html_valid": rate(html["valid"]), "html_structure": rate(html["structure"]), "read_items": rate(read_items),
        "failures": failures, "records": records if args.records else None,
    }


def agreement(args):
    torch_backend, vqa_backend = TorchBackend(args.model), VqaBackend(args.model, args.vqa)
    same = 0
    rows = []
    for ex in list(examples(args.seed, (args.agreement + len(args.tasks) - 1) // len(args.tasks), args.tasks))[:args.agreement]:
        n = max_tokens_for(ex["qtype"])
        a_text, a_ids = torch_backend.answer(ex["image"], ex["question"], n)
        b_text, b_ids = vqa_backend.answer(ex["image"], ex["question"], n)
        eou = torch_backend.eou
        a_ids = [i for i in a_ids if i != eou]
        b_ids = [i for i in b_ids if i != eou]
        same += a_ids == b_ids
        rows.append(dict(qtype=ex["qtype"], question=ex["question"], torch=a_text, vqa=b_text, identical=a_ids == b_ids))
    return {"model": str(args.model), "examples": len(rows), "identical": same, "rows": rows}


def write_fixture(args):
    """Images, questions and transformers' float32 greedy answers (token ids without the final
    <end_of_utterance>) for the Swift tests, tied to the model by the SHA-256 of its weights."""
    import hashlib
    backend = TorchBackend(args.model)
    args.write_fixture.mkdir(parents=True, exist_ok=True)
    rows = []
    count = args.agreement or 20
    for n, ex in enumerate(list(examples(args.seed, (count + len(args.tasks) - 1) // len(args.tasks), args.tasks))[:count]):
        name = f"{n:02d}-{ex['qtype']}.png"
        ex["image"].save(args.write_fixture / name, optimize=True)
        max_tokens = max_tokens_for(ex["qtype"])
        text, ids = backend.answer(ex["image"], ex["question"], max_tokens)
        rows.append(dict(image=name, question=ex["question"], max_tokens=max_tokens,
                         token_ids=[i for i in ids if i != backend.eou], text=text, want=ex["answer"]))
    weights = hashlib.sha256((args.model / "model.safetensors").read_bytes()).hexdigest()
    import transformers
    fixture = {"made_by": "tools/train/evaluate.py --write-fixture", "transformers": transformers.__version__,
               "torch": torch.__version__, "dtype": "float32", "seed": args.seed,
               "model_safetensors_sha256": weights, "examples": rows}
    (args.write_fixture / "expected.json").write_text(json.dumps(fixture, indent=1) + "\n")
    right = sum(normalise_answer(r["text"]) == normalise_answer(r["want"]) for r in rows)
    return {"fixture": str(args.write_fixture), "examples": len(rows), "transformers_right": right}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="an exported model folder (export.py)")
    parser.add_argument("--backend", default="torch", choices=["torch", "vqa"])
    parser.add_argument("--vqa", type=Path, help="the vqa executable (a release build)")
    parser.add_argument("--per-task", type=int, default=500)
    parser.add_argument("--seed", type=int, default=77)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--agreement", type=int, help="compare greedy token ids of torch and vqa on this many examples")
    parser.add_argument("--write-fixture", type=Path, help="write the Swift tests' fixture (--agreement N examples, default 20) here")
    parser.add_argument("--reading", action="store_true",
                        help="ask each image's reading turn (train.py --reading) instead: a diagnostic, not the card's numbers")
    parser.add_argument("--level", type=int, default=2, choices=[0, 1, 2],
                        help="the generator's level (2, the target distribution, for every figure in the card; "
                             "0 and 1 show how much harder the target is than the easier levels training also draws)")
    parser.add_argument("--chart-styles", type=float, default=0.0,
                        help="the share of charts drawn in a free style (train.py --chart-styles); 1: all")
    parser.add_argument("--show-failures", type=int, default=20)
    parser.add_argument("--records", action="store_true", help="keep every example's answer in the output")
    parser.add_argument("--out", type=Path, help="write the JSON result here too")
    args = parser.parse_args()
    set_threads(1)
    if args.write_fixture:
        result = write_fixture(args)
    elif args.agreement:
        if not args.vqa:
            sys.exit("--agreement needs --vqa")
        result = agreement(args)
    else:
        if args.backend == "vqa" and not args.vqa:
            sys.exit("--backend vqa needs --vqa PATH")
        backend = TorchBackend(args.model) if args.backend == "torch" else VqaBackend(args.model, args.vqa)
        result = evaluate(backend, args)
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    summary = {k: v for k, v in result.items() if k not in ("failures", "records", "rows")}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
