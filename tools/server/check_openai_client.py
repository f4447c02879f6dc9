#!/usr/bin/env python3
"""The official `openai` client against a running `vqa serve`: its answers equal `vqa --json`'s.

Checks, each with images sent as data: URIs: a plain completion with log-probabilities, the
same request streamed (chunks reassembled, usage chunk, ends cleanly), a seeded sampled answer,
and a two-turn conversation. Each answer is compared with what `vqa --json` prints for the same
input and seed (text, finish reason, token counts, log-probabilities within 1e-4). Exits 1 if
any check fails. Start the server first, from the repository root, for example:

    .build/debug/vqa serve --model Tests/Fixtures/smolvlm/idefics3-f32 --port 8080 &
    ../venv/bin/python tools/server/check_openai_client.py --model Tests/Fixtures/smolvlm/idefics3-f32
"""
import argparse
import base64
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from openai import OpenAI

ROOT = Path(__file__).resolve().parents[2]
failures = []


def check(name, condition, detail=""):
    print(f"{'ok  ' if condition else 'FAIL'} {name}{'' if condition else ': ' + detail}")
    if not condition:
        failures.append(name)


def data_uri(path):
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def vqa_json(binary, model, messages, max_tokens, logprobs=None, sampling=()):
    """`vqa --json` for the same messages (written to a file, images as the same data: URIs)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(messages, file)
    command = [binary, "--model", model, "--json", "--max-tokens", str(max_tokens), "--messages", file.name, *sampling]
    if logprobs is not None:
        command += ["--logprobs", str(logprobs)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    Path(file.name).unlink()
    return json.loads(result.stdout)


def answer_tokens(cli, eos_ids):
    """The CLI lists the end-of-sequence token too; OpenAI's log-probabilities stop before it."""
    return [t for t in cli["tokens"] if t["id"] not in eos_ids]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8080/v1")
    parser.add_argument("--api-key", default="none")
    parser.add_argument("--model", required=True, help="the model folder the server runs (for vqa --json)")
    parser.add_argument("--vqa", default=str(ROOT / ".build" / "debug" / "vqa"))
    parser.add_argument("--image", default=str(ROOT / "Tests/Fixtures/processor/images/landscape-chart.png"))
    parser.add_argument("--max-tokens", type=int, default=8)
    args = parser.parse_args()

    client = OpenAI(base_url=args.base_url, api_key=args.api_key, max_retries=0)
    served = client.models.list().data[0].id
    config = json.loads((Path(args.model) / "generation_config.json").read_text())
    eos = config.get("eos_token_id", [])
    eos_ids = set(eos if isinstance(eos, list) else [eos])
    question = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_uri(args.image)}},
                                             {"type": "text", "text": "What is in this chart?"}]}]
    n = args.max_tokens

    # 1. Plain, greedy, with log-probabilities.
    cli = vqa_json(args.vqa, args.model, question, n, logprobs=3)
    reply = client.chat.completions.create(model=served, messages=question, max_tokens=n, temperature=0, logprobs=True, top_logprobs=3)
    choice = reply.choices[0]
    check("plain: text", choice.message.content == cli["text"], f"{choice.message.content!r} vs {cli['text']!r}")
    check("plain: finish_reason", choice.finish_reason == cli["finish_reason"], f"{choice.finish_reason} vs {cli['finish_reason']}")
    check("plain: usage", (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (cli["usage"]["prompt_tokens"], cli["usage"]["completion_tokens"]),
          f"{reply.usage} vs {cli['usage']}")
    expected = answer_tokens(cli, eos_ids)
    got = choice.logprobs.content
    check("plain: one log-probability per token", len(got) == len(expected), f"{len(got)} vs {len(expected)}")
    check("plain: log-probabilities", all(abs(a.logprob - b["logprob"]) < 1e-4 for a, b in zip(got, expected)))
    check("plain: top_logprobs", all(len(a.top_logprobs) == 3 and all(abs(x.logprob - y["logprob"]) < 1e-4 for x, y in zip(a.top_logprobs, b["top_logprobs"]))
                                     for a, b in zip(got, expected)))

    # 2. The same, streamed.
    chunks = list(client.chat.completions.create(model=served, messages=question, max_tokens=n, temperature=0, stream=True,
                                                 stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    check("stream: text", text == cli["text"], f"{text!r} vs {cli['text']!r}")
    check("stream: one finish_reason", finish == [cli["finish_reason"]], str(finish))
    check("stream: usage chunk last", chunks[-1].usage is not None and not chunks[-1].choices
          and chunks[-1].usage.completion_tokens == cli["usage"]["completion_tokens"])

    # 3. Sampled with a seed: the CLI with the same seed gives the same answer.
    sampling = dict(temperature=0.9, top_p=0.95, seed=1234)
    cli_sampled = vqa_json(args.vqa, args.model, question, n, sampling=["--temperature", "0.9", "--top-p", "0.95", "--seed", "1234"])
    sampled = client.chat.completions.create(model=served, messages=question, max_tokens=n, **sampling)
    check("seeded: text", sampled.choices[0].message.content == cli_sampled["text"],
          f"{sampled.choices[0].message.content!r} vs {cli_sampled['text']!r}")

    # 4. Two turns, the image in the first.
    turns = question + [{"role": "assistant", "content": choice.message.content},
                        {"role": "user", "content": "And which colours does it use?"}]
    cli_turns = vqa_json(args.vqa, args.model, turns, n)
    second = client.chat.completions.create(model=served, messages=turns, max_tokens=n, temperature=0)
    check("multi-turn: text", second.choices[0].message.content == cli_turns["text"],
          f"{second.choices[0].message.content!r} vs {cli_turns['text']!r}")
    check("multi-turn: usage", second.usage.prompt_tokens == cli_turns["usage"]["prompt_tokens"])

    # 5. An error in OpenAI's shape reaches the client as its exception.
    try:
        client.chat.completions.create(model=served, messages=question, max_tokens=n, n=2)
        check("error: n=2 refused", False, "no error")
    except Exception as error:  # openai.BadRequestError
        check("error: n=2 refused", getattr(error, "status_code", None) == 400 and "'n'" in str(error), repr(error))

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
