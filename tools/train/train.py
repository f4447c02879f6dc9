#!/usr/bin/env python3
"""Train the built-in SmolVLM-format model from scratch on generated charts, UI sketches and scenes.

    OMP_NUM_THREADS=1 nohup nice -n 19 ../venv/bin/python tools/train/train.py --run /work/train-runs/builtin-v1 \
        > /work/train-runs/builtin-v1.out 2>&1 &
    # later sessions: the same command with --resume

The run folder holds processor/ (tokenizer, processor and model configs, written once), checkpoint.pt (the
latest weights, optimizer and step, replaced every --checkpoint-minutes and on SIGTERM/SIGINT), snapshots
weights-stepN.pt every --snapshot-every steps, and log.jsonl (training losses per task, quick held-out
accuracies). Every batch is a pure function of (--seed, step), so a resumed run sees the same data it
would have seen without the interruption. See README.md in this folder.
"""
import argparse
import json
import math
import os
import shutil
import signal
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (encode_examples, init_vision_embeddings, load_processor, make_config, make_processor, normalise_answer, prompt_text,  # noqa: E402
                    set_threads, train_tokenizer, turn_attention_mask)
from generate import TASKS, example  # noqa: E402

# Curriculum: probabilities of generator levels 0 (easy), 1, 2 (target distribution) by step,
# interpolated linearly between these points.
CURRICULUM = [(0, (0.6, 0.3, 0.1)), (1000, (0.6, 0.3, 0.1)), (3000, (0.2, 0.3, 0.5)), (6000, (0.1, 0.2, 0.7))]
HELD_OUT_SEED_OFFSET = 1_000_003  # quick held-out examples; evaluate.py uses yet another seed
SCHEDULE_DEFAULTS = dict(lr=1e-3, min_lr_frac=0.1, warmup=200, total_steps=20000, weight_decay=0.05)
# How a run runs: on --resume, like the schedule, those not given keep the run's values (a run
# started with --threads 2 and resumed without it used to fall back to one thread).
RUNNING_DEFAULTS = dict(checkpoint_minutes=10, snapshot_every=1000, log_every=10, eval_every=250, eval_per_task=16,
                        threads=1, workers=1)


def level_weights(step):
    for (s0, w0), (s1, w1) in zip(CURRICULUM, CURRICULUM[1:]):
        if step < s1:
            t = (step - s0) / (s1 - s0)
            return [a + (b - a) * t for a, b in zip(w0, w1)]
    return list(CURRICULUM[-1][1])


class Batches(torch.utils.data.Dataset):
    """Batch number `step` of the run: generated, preprocessed by the saved processor and tokenized."""

    def __init__(self, processor_dir, seed, batch, tasks=None, questions=1, answer_weight="sqrt", reading=False,
                 readout=False, curriculum_start=0, separate_turns=False, whole_words=False, chart_styles=0.0,
                 page_words=False, colours=False):
        self.processor_dir, self.seed, self.batch = str(processor_dir), seed, batch
        self.curriculum_start = curriculum_start
        self.tasks = tasks  # {task: weight}; None: the generator's own mix of all tasks
        self.questions, self.answer_weight, self.reading = questions, answer_weight, reading
        self.readout = readout  # also compute word_targets (--word-readout)
        self.whole_words = whole_words  # their targets (--readout-whole-words)
        self.colours = colours  # and colour_targets (--readout-colours)
        self.chart_styles = chart_styles  # the share of charts drawn in a free style (--chart-styles)
        self.separate_turns = separate_turns
        self.page_words = page_words  # --weigh-page-words
        self.processor = None

    def task(self, rng):
        """An example's task: None leaves it to the generator's own mix. Equal shares draw as
        `--tasks` did before it took shares, so older runs' batches are unchanged."""
        if not self.tasks:
            return None
        names, shares = list(self.tasks), list(self.tasks.values())
        return rng.choice(names) if len(set(shares)) == 1 else rng.choices(names, shares)[0]

    def __len__(self):
        return 1 << 40

    def __getitem__(self, step):
        import random
        if self.processor is None:
            set_threads(1)
            self.processor = load_processor(self.processor_dir)
        rng = random.Random(f"levels:{self.seed}:{step}")
        weights = level_weights(self.curriculum_start + step)
        examples = [example(self.seed, step * self.batch + i, rng.choices([0, 1, 2], weights)[0],
                            self.task(rng), questions=self.questions, reading=self.reading,
                            chart_styles=self.chart_styles)
                    for i in range(self.batch)]
        enc = encode_examples(self.processor, examples, answer_weight=self.answer_weight, separate_turns=self.separate_turns,
                              page_words=self.page_words)
        enc["tasks"] = [ex["task"] for ex in examples]
        if self.readout:
            enc["word_targets"] = word_targets(self.processor.tokenizer, examples, self.whole_words)
        if self.colours:
            enc["colour_targets"] = word_targets(self.processor.tokenizer, examples, self.whole_words, "painted")
        return enc


GRID = 8  # image tokens per side: 256 px / patch 16 / pixel shuffle 2


def word_target(tokenizer, text, space, whole_words=False):
    """The token that stands for a drawn text: its first token as an answer spells it (" " + words; a
    bare space token, as before digits, is skipped). With `whole_words`, where that spelling takes
    several tokens and the text without the space is one ("Send", as the HTML pages spell button and
    input words), that one, since a first piece can start other words too (" S" + "end", " S" +
    "ave", " S" + "top")."""
    ids = tokenizer(" " + text, add_special_tokens=False)["input_ids"]
    bare = ids[:1] == space and len(ids) > 1
    if whole_words and len(ids) > 1 and not bare:
        whole = tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(whole) == 1:
            return whole[0]
    return ids[1] if bare else ids[0]


def centred_texts(drawn):
    """{image token: text} for the image tokens (row-major in the GRID x GRID connector output)
    whose 32 x 32 pixels hold the centre of exactly one drawn text or shape (Canvas.drawn)."""
    cells = {}
    for text, (x0, y0, x1, y1) in drawn:
        col = min(GRID - 1, max(0, int((x0 + x1) / 2 * GRID / 256)))
        row = min(GRID - 1, max(0, int((y0 + y1) / 2 * GRID / 256)))
        cells.setdefault(row * GRID + col, []).append(text)
    return {cell: texts[0] for cell, texts in cells.items() if len(texts) == 1}


def word_targets(tokenizer, examples, whole_words=False, key="drawn"):
    """(examples, GRID * GRID): for each image token, in the connector's row-major order, the
    `word_target` of the one text or shape (by its name) whose drawn box is centred in that token's
    32 x 32 pixels; -100 where nothing or more than one thing is centred. With key="painted", of
    the one area of a named colour (by that name: Canvas.painted) instead."""
    space = tokenizer(" ", add_special_tokens=False)["input_ids"]
    targets = torch.full((len(examples), GRID * GRID), -100, dtype=torch.long)
    for i, ex in enumerate(examples):
        for cell, text in centred_texts(ex[key]).items():
            targets[i, cell] = word_target(tokenizer, text, space, whole_words)
    return targets


class StepSampler(torch.utils.data.Sampler):
    def __init__(self, start):
        self.start = start

    def __iter__(self):
        step = self.start
        while True:
            yield step
            step += 1


def worker_init(_):
    set_threads(1)
    # A SIGTERM to the whole process group (the end of a session) must not kill the data worker
    # before the training process has saved its checkpoint.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = min(1.0, (step - args.warmup) / max(1, args.total_steps - args.warmup))
    return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def batch_loss(model, batch):
    """The weighted mean of the answer-token losses (weights from encode_examples), and each
    example's mean answer-token loss."""
    if "segments" in batch:  # --separate-turns
        masks = dict(attention_mask=turn_attention_mask(batch["segments"]), position_ids=batch["position_ids"])
    else:
        masks = dict(attention_mask=batch["attention_mask"])
    out = model.model(input_ids=batch["input_ids"], pixel_values=batch["pixel_values"], **masks)
    hidden = out.last_hidden_state[:, :-1]
    targets = batch["labels"][:, 1:]
    mask = targets != -100
    logits = model.lm_head(hidden[mask])
    token_loss = F.cross_entropy(logits.float(), targets[mask], reduction="none")
    rows = mask.nonzero()[:, 0]
    counts = mask.sum(1).clamp(min=1).float()
    per_example = torch.zeros(mask.shape[0]).index_add_(0, rows, token_loss.detach()) / counts
    weights = batch["weights"][:, 1:][mask]
    return (token_loss * weights).sum() / weights.sum(), per_example


def task_weights(text):
    """--tasks: "charts,ui" or "charts=0.35,ui=0.45,scenes=0.2" -> {task: weight}; None -> None. The
    run keeps the text (as its other options), so a resumed run parses it again."""
    if not text:
        return None
    weights = {}
    for entry in text.split(","):
        name, _, share = entry.partition("=")
        if name not in TASKS:
            raise ValueError(f"unknown task {name!r} (tasks: {', '.join(TASKS)})")
        try:
            weights[name] = float(share) if share else 1.0
        except ValueError:
            raise ValueError(f"{name}: share {share!r} is not a number") from None
        if not (math.isfinite(weights[name]) and weights[name] > 0):
            raise ValueError(f"{name}: share {share!r} must be a positive number")
    return weights


def held_out(seed, per_task, tasks=None):
    """`per_task` level-2 examples of each of `tasks` (names, or {name: share}; None: all)."""
    return [example(seed + HELD_OUT_SEED_OFFSET, i, 2, task) for task in (tasks or TASKS) for i in range(per_task)]


@torch.no_grad()
def greedy_answer(model, processor, image, question, max_new_tokens):
    enc = processor(text=[prompt_text(processor, question)], images=[[image]], return_tensors="pt")
    eou = processor.tokenizer.convert_tokens_to_ids("<end_of_utterance>")
    out = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                         pixel_values=enc["pixel_values"], do_sample=False, max_new_tokens=max_new_tokens,
                         eos_token_id=eou, pad_token_id=processor.tokenizer.pad_token_id)
    return processor.tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)


def quick_eval(model, processor, examples):
    model.eval()
    by_type, by_task = {}, {}
    samples = []
    for ex in examples:
        answer = greedy_answer(model, processor, ex["image"], ex["question"], 220 if ex["qtype"] == "ui_html" else 24)
        ok = normalise_answer(answer) == normalise_answer(ex["answer"])
        by_type.setdefault(ex["qtype"], []).append(ok)
        by_task.setdefault(ex["task"], []).append(ok)
        if len(samples) < 6 or (ex["qtype"] == "ui_html" and not any(s["qtype"] == "ui_html" for s in samples)):
            samples.append(dict(qtype=ex["qtype"], q=ex["question"], want=ex["answer"], got=answer))
    model.train()
    mean = lambda v: round(sum(v) / len(v), 3)
    return ({k: mean(v) for k, v in sorted(by_task.items())},
            {k: f"{sum(v)}/{len(v)}" for k, v in sorted(by_type.items())}, samples)


def save_checkpoint(path, model, optimizer, step, args):
    tmp = path.with_suffix(".tmp")
    torch.save(dict(model=model.state_dict(), optimizer=optimizer.state_dict(), step=step, args=vars(args)), tmp)
    os.replace(tmp, path)


def is_exported_model(path):
    """A folder export.py wrote (or any Idefics3 model folder in HuggingFace format)."""
    return path.is_dir() and (path / "config.json").is_file() and (path / "model.safetensors").is_file()


def load_init_source(source, processor_dir):
    """Copies --init-from's tokenizer and configs into processor_dir; returns its weights (a state dict).

    An exported folder holds bfloat16 weights in transformers 4.x key layout: loading it through
    from_pretrained maps the keys back and widens the weights to float32, and its config is re-saved
    in this transformers' layout, float32, as a run's own processor/ is."""
    if not is_exported_model(source):
        shutil.copytree(source.parent / "processor", processor_dir, dirs_exist_ok=True)
        return torch.load(source, map_location="cpu", weights_only=False)["model"]
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration
    processor_dir.mkdir(parents=True, exist_ok=True)
    for f in source.iterdir():
        if f.name not in ("model.safetensors", "config.json", "generation_config.json", "README.md"):
            shutil.copy(f, processor_dir / f.name)
    config = Idefics3Config.from_pretrained(source)
    config.dtype = torch.float32
    config.save_pretrained(processor_dir)
    return Idefics3ForConditionalGeneration.from_pretrained(source, dtype=torch.float32).state_dict()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="run folder (outside the repository)")
    parser.add_argument("--resume", action="store_true", help="continue from RUN/checkpoint.pt")
    parser.add_argument("--init-from", type=Path,
                        help="a new run starting from this checkpoint's weights and its run's processor, or from an "
                             "exported model folder such as Models/builtin (fresh optimizer and schedule; pass a new "
                             "--seed for data the source run has not seen)")
    parser.add_argument("--seed", type=int, default=20240901)
    parser.add_argument("--shape", default="small", choices=["small", "tiny"])
    parser.add_argument("--vocab", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=32)
    # The schedule's options: on --resume, those not given keep the run's values (SCHEDULE_DEFAULTS otherwise).
    parser.add_argument("--lr", type=float, help=f"peak learning rate (default {SCHEDULE_DEFAULTS['lr']})")
    parser.add_argument("--min-lr-frac", type=float, help=f"final learning rate / peak (default {SCHEDULE_DEFAULTS['min_lr_frac']})")
    parser.add_argument("--warmup", type=int, help=f"warm-up steps (default {SCHEDULE_DEFAULTS['warmup']})")
    parser.add_argument("--total-steps", type=int,
                        help=f"length of the cosine schedule (default {SCHEDULE_DEFAULTS['total_steps']})")
    parser.add_argument("--weight-decay", type=float, help=f"on matrices (default {SCHEDULE_DEFAULTS['weight_decay']})")
    parser.add_argument("--max-steps", type=int, help="stop after this step")
    parser.add_argument("--max-minutes", type=float, help="stop after this many minutes (this invocation)")
    # How the run runs: on --resume, those not given keep the run's values (RUNNING_DEFAULTS otherwise).
    parser.add_argument("--checkpoint-minutes", type=float, help=f"save checkpoint.pt this often (default {RUNNING_DEFAULTS['checkpoint_minutes']})")
    parser.add_argument("--snapshot-every", type=int, help=f"keep weights-stepN.pt every N steps (default {RUNNING_DEFAULTS['snapshot_every']})")
    parser.add_argument("--log-every", type=int, help=f"log every N steps (default {RUNNING_DEFAULTS['log_every']})")
    parser.add_argument("--eval-every", type=int, help=f"quick held-out evaluation every N steps (default {RUNNING_DEFAULTS['eval_every']})")
    parser.add_argument("--eval-per-task", type=int, help=f"its examples per task (default {RUNNING_DEFAULTS['eval_per_task']})")
    parser.add_argument("--threads", type=int, help=f"torch threads (default {RUNNING_DEFAULTS['threads']})")
    parser.add_argument("--tasks",
                        help="comma-separated tasks, each optionally with its share (charts=0.35,ui=0.45,scenes=0.2); "
                             "without shares, chosen uniformly (default: all, in the generator's mix)")
    parser.add_argument("--answer-weight", default="sqrt", choices=["sqrt", "mean"],
                        help="each answer's weight: sqrt(its length) or 1")
    parser.add_argument("--questions", type=int, default=1,
                        help="questions asked about each training image (of distinct types), as one conversation unless --separate-turns")
    parser.add_argument("--separate-turns", action="store_true",
                        help="ask each of an image's --questions as its own prompt (sharing the image) rather than as "
                             "one conversation, so that no answer can be copied from an earlier one")
    parser.add_argument("--weigh-page-words", action="store_true",
                        help="weigh the header, button and input words inside an HTML answer as answers of their own "
                             "(common.page_word_weights), not as a few of the page's ~60 tokens")
    parser.add_argument("--reading", action="store_true",
                        help="end each training image's conversation with a turn listing all its labels, words or shapes")
    parser.add_argument("--vision-lr-mult", type=float, default=1.0, help="learning-rate factor for the vision tower and connector")
    parser.add_argument("--freeze-vision", action="store_true",
                        help="keep the vision tower at its initialisation (the connector and decoder still learn)")
    parser.add_argument("--match-image-scale", action="store_true",
                        help="after each step, rescale the connector so that image tokens enter the decoder at the text embeddings' RMS")
    parser.add_argument("--word-readout", type=float, default=0.0,
                        help="weight of a training-only loss that asks each image token under a drawn word or shape to be "
                             "read as that word (the shape's name) by the language model's own output matrix (WordReadout); 0: off")
    parser.add_argument("--readout-whole-words", action="store_true",
                        help="the readout's target for a word whose answer spelling takes several tokens is the word's own "
                             "token where it has one (Send, not the \" S\" that Save and Stop start with too; word_target)")
    parser.add_argument("--readout-colours", action="store_true",
                        help="with --word-readout, also ask the image token at the centre of each bar, slice, legend swatch "
                             "and scene shape to be read as its colour's name (Canvas.paint), at the same weight")
    parser.add_argument("--chart-styles", type=float, default=0.0,
                        help="the share of charts drawn in a free style: any aspect, small or large labels, wide or no margins, "
                             "values over the bars, thick axes, grid lines, rings and legends for pies (generate.styled_*); 0: off")
    parser.add_argument("--curriculum-start", type=int, default=0,
                        help="the curriculum's step at this run's step 0: a later stage (--init-from) passes the steps "
                             "its source runs trained, so it continues their level mix instead of restarting at the easiest")
    parser.add_argument("--workers", type=int, help=f"data-generation processes (0: in the training process; default {RUNNING_DEFAULTS['workers']})")
    args = parser.parse_args()
    try:
        task_weights(args.tasks)
    except ValueError as error:
        sys.exit(f"--tasks: {error}")
    if not 0 <= args.chart_styles <= 1:
        sys.exit(f"--chart-styles: {args.chart_styles:g} is not a share between 0 and 1")
    if args.readout_colours and not args.word_readout and not args.resume:
        sys.exit("--readout-colours adds to --word-readout's loss: pass --word-readout too")
    if args.init_from and args.resume:
        sys.exit("--init-from starts a new run from another run's weights; --resume continues this run: pass one")
    if args.init_from and not (is_exported_model(args.init_from)
                               or (args.init_from.is_file() and (args.init_from.parent / "processor").is_dir())):
        sys.exit(f"--init-from: {args.init_from} is neither a checkpoint file in a run folder (with processor/ beside it) "
                 "nor an exported model folder (with config.json and model.safetensors)")
    torch.manual_seed(args.seed)
    from transformers import Idefics3ForConditionalGeneration

    args.run.mkdir(parents=True, exist_ok=True)
    processor_dir = args.run / "processor"
    checkpoint = args.run / "checkpoint.pt"
    if args.resume:
        if not checkpoint.exists():
            sys.exit(f"--resume: no {checkpoint}")
        processor = load_processor(processor_dir)
    elif checkpoint.exists():
        sys.exit(f"{checkpoint} exists: pass --resume, or choose a new --run")
    elif args.init_from:
        # The source's tokenizer and configs: its weights only make sense with them.
        init_weights = load_init_source(args.init_from, processor_dir)
        processor = load_processor(processor_dir)
    else:
        tokenizer = train_tokenizer(args.vocab, args.seed)
        processor = make_processor(tokenizer, args.shape)
        processor.save_pretrained(processor_dir)
        make_config(processor.tokenizer, args.shape).save_pretrained(processor_dir)
        processor = load_processor(processor_dir)
    if args.resume:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        # The data stream, the model and the loss are the run's own.
        for key in ("seed", "batch", "shape", "vocab", "tasks", "answer_weight", "vision_lr_mult", "questions", "match_image_scale", "freeze_vision",
                    "reading", "word_readout", "readout_whole_words", "curriculum_start", "separate_turns", "chart_styles",
                    "weigh_page_words", "readout_colours"):
            setattr(args, key, state["args"].get(key, getattr(args, key)))
    for key, default in {**SCHEDULE_DEFAULTS, **RUNNING_DEFAULTS}.items():
        if getattr(args, key) is None:
            setattr(args, key, state["args"].get(key, default) if args.resume else default)
    set_threads(args.threads)
    from transformers import Idefics3Config
    config = Idefics3Config.from_pretrained(processor_dir)
    model = Idefics3ForConditionalGeneration(config)
    init_vision_embeddings(model)  # replaced by the checkpoint's weights on --resume
    if args.freeze_vision:
        model.model.vision_model.requires_grad_(False)
    # Parameter groups: matrices (weight decay) first, then the rest; each split into text and vision
    # only when the vision tower has its own learning-rate factor (keeps older runs' optimizer state).
    groups = {}
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        decays = p.dim() >= 2 and "embed" not in n
        vision = args.vision_lr_mult != 1.0 and n.startswith(("model.vision_model.", "model.connector."))
        groups.setdefault((not decays, vision), []).append(p)
    optimizer = torch.optim.AdamW([{"params": params, "weight_decay": 0.0 if no_decay else args.weight_decay,
                                    "lr_mult": args.vision_lr_mult if vision else 1.0}
                                   for (no_decay, vision), params in sorted(groups.items())],
                                  lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    step = 0
    if args.init_from:
        model.load_state_dict(init_weights)
    if args.resume:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step = state["step"]
    model.train()
    params = sum(p.numel() for p in model.parameters())
    log_file = open(args.run / "log.jsonl", "a")

    def log(record):
        record = dict(time=time.strftime("%Y-%m-%d %H:%M:%S"), **record)
        log_file.write(json.dumps(record) + "\n")
        log_file.flush()
        print(json.dumps(record), flush=True)

    log(dict(event="start", step=step, params=params, args={k: str(v) for k, v in vars(args).items()},
             torch=torch.__version__, threads=torch.get_num_threads()))

    stop = {"flag": False}

    def on_signal(signum, frame):
        stop["flag"] = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    tasks = task_weights(args.tasks)
    data = Batches(processor_dir, args.seed, args.batch, tasks, args.questions, args.answer_weight, args.reading,
                   readout=args.word_readout > 0, curriculum_start=args.curriculum_start,
                   separate_turns=args.separate_turns, whole_words=args.readout_whole_words,
                   chart_styles=args.chart_styles, page_words=args.weigh_page_words, colours=args.readout_colours)
    loader = torch.utils.data.DataLoader(data, batch_size=None, sampler=StepSampler(step), num_workers=args.workers,
                                         prefetch_factor=4 if args.workers else None,
                                         worker_init_fn=worker_init)
    evaluation = held_out(args.seed, args.eval_per_task, tasks)
    started = time.time()
    state = {"step": step}
    try:
        train_loop(args, model, optimizer, processor, loader, evaluation, checkpoint, state, stop, started, log)
    except Exception as error:  # a dead data worker, say: keep the steps done so far
        log(dict(step=state["step"], event="error", error=repr(error)))
    save_checkpoint(checkpoint, model, optimizer, state["step"], args)
    log(dict(step=state["step"], event="stop", checkpoint=str(checkpoint), minutes=round((time.time() - started) / 60, 1)))
    os._exit(0)  # do not wait for the data worker's prefetched batches


class ImageScale:
    """Keeps image tokens at the text embeddings' scale (--match-image-scale). Unchecked, the
    connector's output grew to ~50-100x the norm of a text embedding: in the decoder's residual
    stream an image position then stays what the vision tower made it (each layer's addition is
    tiny beside it), and the answer positions put half their attention on image tokens whose
    content barely mattered to the loss (run v4 found that holding the scale does not change
    that: tools/train/README.md). After each step the connector's matrix (a Linear without
    bias) is multiplied by text RMS / image RMS of that batch, so the exported model is an
    ordinary Idefics3 checkpoint."""

    def __init__(self, model):
        self.model, self.image_rms = model, None
        model.model.connector.register_forward_hook(self.observe)

    def observe(self, module, inputs, output):
        if module.training:
            self.image_rms = output.detach().pow(2).mean().sqrt()

    @torch.no_grad()
    def rescale(self):
        text_rms = self.model.model.text_model.embed_tokens.weight.pow(2).mean().sqrt()
        factor = (text_rms / self.image_rms).clamp(0.5, 2.0)  # gradual: at most 2x per step
        self.model.model.connector.modality_projection.proj.weight.mul_(factor)
        return float(self.image_rms / text_rms)


class WordReadout:
    """A training-only loss (--word-readout) that teaches the vision side to write what it sees in
    the decoder's own vocabulary. The image token whose 32 x 32 pixels hold the centre of a drawn
    word (or shape) is scored against the first token of that word (or the shape's name) by the
    language model's output matrix (tied to the input embeddings), so the token enters the decoder
    looking like that word's embedding. Why: run v7 found a bar's label linearly decodable from
    the image tokens, yet the decoder never learnt to read it from the answers alone, and shapes
    were named no better than the most common answer; this gives each drawn thing a direct signal.
    Nothing is added to the model, so the exported checkpoint is unchanged in form."""

    def __init__(self, model):
        self.model, self.tokens = model, None
        model.model.connector.register_forward_hook(self.observe)

    def observe(self, module, inputs, output):
        if module.training:
            self.tokens = output

    def loss(self, *target_sets):
        """Mean cross-entropy over every (image token, target) pair of the `target_sets` (each
        (examples, image tokens), -100 where a token has none: words, then colours), and for each
        set the fraction read right (1 for a set with nothing to read)."""
        tokens = self.tokens.reshape(target_sets[0].shape[0], -1, self.tokens.shape[-1])
        logits, wanted, read = [], [], []
        for targets in target_sets:
            mask = targets != -100
            logits.append(self.model.lm_head(tokens[mask]))
            wanted.append(targets[mask])
            read.append(float((logits[-1].argmax(-1) == wanted[-1]).float().mean()) if mask.any() else 1.0)
        logits, wanted = torch.cat(logits), torch.cat(wanted)
        if not len(wanted):
            return tokens.sum() * 0.0, read
        return F.cross_entropy(logits.float(), wanted), read


def train_loop(args, model, optimizer, processor, loader, evaluation, checkpoint, state, stop, started, log):
    last_checkpoint = time.time()
    image_scale = ImageScale(model) if args.match_image_scale else None
    image_ratio = None
    readout = WordReadout(model) if args.word_readout > 0 else None
    window = {"loss": [], "task": {}, "readout": [], "read": [], "time": time.time(), "steps": 0}
    target_sets = ["word_targets"] + (["colour_targets"] if args.readout_colours else [])
    for batch in loader:
        step = state["step"]
        if stop["flag"] or (args.max_steps is not None and step >= args.max_steps) or \
                (args.max_minutes is not None and time.time() - started > args.max_minutes * 60):
            return
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, args) * group.get("lr_mult", 1.0)
        loss, per_example = batch_loss(model, batch)
        total = loss
        if readout:
            readout_loss, read = readout.loss(*(batch[name] for name in target_sets))
            total = loss + args.word_readout * readout_loss
            window["readout"].append(readout_loss.item())
            window["read"].append(read)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if image_scale:
            image_ratio = image_scale.rescale()
        step += 1
        state["step"] = step
        window["loss"].append(loss.item())
        window["steps"] += 1
        for task, value in zip(batch["tasks"], per_example.tolist()):
            window["task"].setdefault(task, []).append(value)
        if step % args.log_every == 0:
            elapsed = time.time() - window["time"]
            log(dict(step=step, loss=round(sum(window["loss"]) / len(window["loss"]), 4),
                     task_loss={k: round(sum(v) / len(v), 4) for k, v in sorted(window["task"].items())},
                     lr=round(lr_at(step, args), 6), grad_norm=round(float(grad_norm), 3),
                     levels=[round(w, 2) for w in level_weights(args.curriculum_start + step)], sec_per_step=round(elapsed / window["steps"], 2),
                     **({"image_to_text_rms": round(image_ratio, 2)} if image_ratio is not None else {}),
                     **({"readout_loss": round(sum(window["readout"]) / len(window["readout"]), 4),
                         **{name: round(sum(r[k] for r in window["read"]) / len(window["read"]), 3)
                            for k, name in enumerate(["words_read", "colours_read"][:len(target_sets)])}}
                        if readout else {})))
            window = {"loss": [], "task": {}, "readout": [], "read": [], "time": time.time(), "steps": 0}
        if step % args.eval_every == 0:
            t = time.time()
            by_task, by_type, samples = quick_eval(model, processor, evaluation)
            log(dict(step=step, event="eval", accuracy=by_task, by_type=by_type, samples=samples,
                     seconds=round(time.time() - t, 1)))
        if step % args.snapshot_every == 0:
            torch.save(model.state_dict(), args.run / f"weights-step{step}.pt")
        if time.time() - last_checkpoint > args.checkpoint_minutes * 60:
            save_checkpoint(checkpoint, model, optimizer, step, args)
            last_checkpoint = time.time()
            log(dict(step=step, event="checkpoint"))


if __name__ == "__main__":
    main()
