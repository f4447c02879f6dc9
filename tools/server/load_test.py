#!/usr/bin/env python3
"""A bounded load test of a running `vqa serve`, with the official `openai` client.

Sends --requests requests (default 64) from --clients concurrent clients (default 16) and stops
by itself. The requests cycle through a few different conversations (images as data: URIs, two
questions, plain and streamed); each one's answer and prompt size must equal the reference
answer for its conversation, fetched alone beforehand, so an answer delivered to the wrong
request would show. Every --abandon-every'th request (default 8) is streamed and abandoned
after its first piece of text, to check that leaving frees the slot. Reports throughput,
p50/p95 latency, 429s (not retried) and mismatches; at the end /health must show no slot busy
and nothing waiting. Exits 1 on any mismatch or a server left busy.

    .build/release/vqa serve --model DIR --port 8080 --parallel 2 --queue-limit 8 &
    ../venv/bin/python tools/server/load_test.py --requests 64 --clients 16
"""
import argparse
import asyncio
import base64
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

import openai
from openai import AsyncOpenAI

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ["Tests/Fixtures/processor/images/landscape-chart.png", "Tests/Fixtures/processor/images/wide-513x77.png"]
QUESTIONS = ["What is in this image?", "Describe the colours."]


def conversations():
    result = []
    for image in IMAGES:
        uri = "data:image/png;base64," + base64.b64encode((ROOT / image).read_bytes()).decode()
        for question in QUESTIONS:
            result.append([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": uri}}, {"type": "text", "text": question}]}])
    return result


async def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8080/v1")
    parser.add_argument("--api-key", default="none")
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--abandon-every", type=int, default=8, help="0: abandon none")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for the whole run")
    args = parser.parse_args()

    client = AsyncOpenAI(base_url=args.base_url, api_key=args.api_key, max_retries=0, timeout=args.timeout)
    model = (await client.models.list()).data[0].id
    convs = conversations()
    references = []
    for messages in convs:
        reply = await client.chat.completions.create(model=model, messages=messages, max_tokens=args.max_tokens, temperature=0)
        references.append((reply.choices[0].message.content, reply.usage.prompt_tokens))
    if len({text for text, _ in references}) < len(references):
        print("note: some conversations share an answer; a mix-up between those would not show")

    latencies, rejected, mismatches, abandoned, completion_tokens = [], 0, [], 0, 0
    queue = asyncio.Queue()
    for index in range(args.requests):
        queue.put_nowait(index)

    async def one(index):
        nonlocal rejected, abandoned, completion_tokens
        messages = convs[index % len(convs)]
        expected_text, expected_prompt = references[index % len(convs)]
        start = time.perf_counter()
        try:
            if args.abandon_every and index % args.abandon_every == args.abandon_every - 1:
                stream = await client.chat.completions.create(model=model, messages=messages, max_tokens=args.max_tokens,
                                                              temperature=0, stream=True)
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        break
                await stream.close()
                abandoned += 1
                return
            if index % 2:
                stream = await client.chat.completions.create(model=model, messages=messages, max_tokens=args.max_tokens, temperature=0,
                                                              stream=True, stream_options={"include_usage": True})
                text, usage = "", None
                async for chunk in stream:
                    if chunk.choices:
                        text += chunk.choices[0].delta.content or ""
                    if chunk.usage:
                        usage = chunk.usage
            else:
                reply = await client.chat.completions.create(model=model, messages=messages, max_tokens=args.max_tokens, temperature=0)
                text, usage = reply.choices[0].message.content, reply.usage
        except openai.RateLimitError:
            rejected += 1
            return
        latencies.append(time.perf_counter() - start)
        completion_tokens += usage.completion_tokens
        if text != expected_text or usage.prompt_tokens != expected_prompt:
            mismatches.append(index)

    async def worker():
        while not queue.empty():
            await one(queue.get_nowait())

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(args.clients))), timeout=args.timeout)
    elapsed = time.perf_counter() - started

    # Abandoned streams must have let go of their slots.
    health_url = args.base_url.rsplit("/v1", 1)[0] + "/health"
    deadline = time.time() + 30
    while True:
        health = json.load(urllib.request.urlopen(health_url))
        if (health["slots_processing"] == 0 and health["requests_waiting"] == 0) or time.time() > deadline:
            break
        await asyncio.sleep(0.1)

    done = len(latencies)
    print(f"{args.requests} requests, {args.clients} clients, max_tokens {args.max_tokens}: {elapsed:.1f} s")
    print(f"completed {done}, rejected with 429 {rejected}, abandoned on purpose {abandoned}, mismatched {len(mismatches)}")
    if done:
        ordered = sorted(latencies)
        p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
        print(f"throughput {done / elapsed:.2f} requests/s, {completion_tokens / elapsed:.1f} completion tokens/s")
        print(f"latency p50 {statistics.median(ordered):.2f} s, p95 {p95:.2f} s")
    print(f"after the run: {health}")
    busy = health["slots_processing"] != 0 or health["requests_waiting"] != 0
    if mismatches:
        print(f"FAIL: answers that are not their request's: {mismatches}")
    if busy:
        print("FAIL: the server is still busy after the run")
    return 1 if mismatches or busy else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
