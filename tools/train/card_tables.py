#!/usr/bin/env python3
"""The model card's accuracy tables, from evaluate.py results written with --records --out.

    ../venv/bin/python tools/train/card_tables.py /work/train-runs/eval-charts.json /work/train-runs/eval-scenes.json \
        /work/train-runs/eval-ui.json

Prints, in Markdown: exact match per question type next to the best constant answer (how often
the most common true answer of that type occurs: what a model that ignores the image scores by
always giving it), exact match per task, and the HTML rates of the UI sketches.
"""
import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import normalise_answer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, nargs="+", help="evaluate.py --records --out files")
    args = parser.parse_args()
    records, html = [], {"valid": [], "structure": []}
    for path in args.results:
        result = json.loads(path.read_text())
        if not result.get("records"):
            sys.exit(f"{path}: no records (run evaluate.py with --records)")
        records += result["records"]
        for key in html:
            rate = result[f"html_{key}"]
            if rate:
                html[key].append((rate["accuracy"], rate["n"]))
    by_type, by_task = defaultdict(list), defaultdict(list)
    for r in records:
        by_type[r["qtype"]].append(r)
        by_task[r["task"]].append(r["ok"])
    print("| question type | examples | exact match | best constant answer |")
    print("|---|---|---|---|")
    for qtype, rows in sorted(by_type.items()):
        right = sum(r["ok"] for r in rows) / len(rows)
        constant = "–"
        if qtype != "ui_html":
            answer, times = Counter(normalise_answer(r["want"]) for r in rows).most_common(1)[0]
            constant = f'{times / len(rows):.0%} ("{answer[:24]}")'
        print(f"| `{qtype}` | {len(rows)} | {right:.0%} | {constant} |")
    print("\n| task | examples | exact match |")
    print("|---|---|---|")
    for task, oks in sorted(by_task.items()):
        print(f"| {task} | {len(oks)} | {sum(oks) / len(oks):.1%} |")
    for key, rates in html.items():
        if rates:
            n = sum(count for _, count in rates)
            print(f"\nhtml_{key}: {sum(rate * count for rate, count in rates) / n:.1%} of {n}")


if __name__ == "__main__":
    main()
