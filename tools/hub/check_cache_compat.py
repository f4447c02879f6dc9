"""Checks that `vqa` and Python's huggingface_hub share one cache, both ways.

Serves a model folder as a minimal Hub on loopback (revision, tree, resolve with a CDN redirect
for LFS files, Range), then:
  1. `vqa pull` downloads it into cache A; huggingface_hub, offline, finds every file there.
  2. huggingface_hub downloads it into cache B; `vqa --model ORG/NAME` offline answers from it,
     identically to the folder itself, and `vqa models` lists it.

Usage (after `swift build -c release`):
  ../venv/bin/python tools/hub/check_cache_compat.py [--vqa .build/release/vqa] [--model Tests/Fixtures/smolvlm/idefics3-f32]
"""
import argparse
import hashlib
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = "fixtures/tiny-smolvlm"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def serve(folder: Path):
    files = {}
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        lfs = path.suffix == ".safetensors"
        files[path.name] = (data, sha, sha if lfs else sha[:40], lfs)

    class Hub(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, status, headers, body=b"", head=False):
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def do_HEAD(self):
            self.route(head=True)

        def do_GET(self):
            self.route(head=False)

        def route(self, head):
            path = self.path.split("?")[0]
            parts = [p for p in path.split("/") if p]
            if parts[:2] == ["api", "models"] and "/".join(parts[2:4]) == REPO:
                if parts[4] == "revision":
                    body = json.dumps({"id": REPO, "sha": COMMIT, "siblings": [{"rfilename": n} for n in files]}).encode()
                    return self.reply(200, {"Content-Type": "application/json"}, body, head)
                if parts[4] == "tree":
                    entries = []
                    for name, (data, sha, etag, lfs) in files.items():
                        entry = {"type": "file", "oid": sha[:40], "size": len(data), "path": name}
                        if lfs:
                            entry["lfs"] = {"oid": sha, "size": len(data), "pointerSize": 134}
                        entries.append(entry)
                    return self.reply(200, {"Content-Type": "application/json"}, json.dumps(entries).encode(), head)
            if "/".join(parts[:2]) == REPO and parts[2] == "resolve":
                name = "/".join(parts[4:])
                if name not in files:
                    return self.reply(404, {"X-Error-Code": "EntryNotFound"}, b"", head)
                data, sha, etag, lfs = files[name]
                headers = {"X-Repo-Commit": COMMIT}
                if lfs:
                    port = self.server.server_address[1]
                    headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(data)),
                                    "Location": f"http://localhost:{port}/cdn/{sha}"})
                    return self.reply(302, headers, b"", head)
                headers.update({"ETag": f'"{etag}"', "Content-Length": str(len(data))})
                return self.reply(200, headers, data, head)
            if parts[0] == "cdn":
                for data, sha, _, _ in files.values():
                    if sha == parts[1]:
                        start = 0
                        status, headers = 200, {}
                        if self.headers.get("Range", "").startswith("bytes="):
                            start = int(self.headers["Range"][6:].split("-")[0])
                            status = 206
                            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                        return self.reply(status, headers, data[start:], head)
            self.reply(404, {}, b"", head)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, files


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vqa", default=".build/release/vqa")
    parser.add_argument("--model", default="Tests/Fixtures/smolvlm/idefics3-f32")
    args = parser.parse_args()
    server, files = serve(Path(args.model))
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    needed = [n for n in files if n.endswith((".safetensors", ".json", ".jinja"))]
    failures = []

    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        # 1. vqa downloads, Python reads.
        env = dict(os.environ, HF_ENDPOINT=endpoint, HF_HOME=a, HF_HUB_CACHE="", HF_HUB_OFFLINE="")
        snapshot = subprocess.run([args.vqa, "pull", REPO], env=env, capture_output=True, text=True, check=True).stdout.strip()
        check = ("import huggingface_hub, sys\n"
                 f"folder = huggingface_hub.snapshot_download({REPO!r}, cache_dir={a + '/hub'!r}, local_files_only=True)\n"
                 f"paths = [huggingface_hub.hf_hub_download({REPO!r}, n, cache_dir={a + '/hub'!r}, local_files_only=True) for n in {needed!r}]\n"
                 "print(folder)\n")
        python_env = dict(os.environ, HF_HUB_OFFLINE="1")
        python_env.pop("HF_ENDPOINT", None)
        found = subprocess.run([sys.executable, "-c", check], env=python_env, capture_output=True, text=True)
        if found.returncode != 0 or found.stdout.strip() != snapshot:
            failures.append(f"huggingface_hub did not find vqa's download: {found.stderr[-500:]}")
        else:
            print(f"1. vqa pull -> huggingface_hub offline: found {len(needed)} files in {snapshot}")

        # 2. Python downloads, vqa reads offline.
        download = ("import huggingface_hub\n"
                    f"print(huggingface_hub.snapshot_download({REPO!r}, cache_dir={b + '/hub'!r}))\n")
        py = subprocess.run([sys.executable, "-c", download], env=dict(os.environ, HF_ENDPOINT=endpoint, HF_HUB_OFFLINE="0"),
                            capture_output=True, text=True)
        if py.returncode != 0:
            failures.append(f"huggingface_hub download failed: {py.stderr[-800:]}")
        else:
            offline = dict(os.environ, HF_HOME=b, HF_HUB_CACHE="", HF_HUB_OFFLINE="1")
            question = ["--max-tokens", "4", "Assets/chart.png", "What is in this chart?"]
            cached = subprocess.run([args.vqa, "--model", REPO] + question, env=offline, capture_output=True, text=True)
            direct = subprocess.run([args.vqa, "--model", args.model] + question, capture_output=True, text=True)
            models = subprocess.run([args.vqa, "models"], env=offline, capture_output=True, text=True)
            if cached.returncode != 0 or cached.stdout != direct.stdout:
                failures.append(f"vqa could not use huggingface_hub's download: {cached.stderr[-500:]}")
            elif f"{REPO}  cached" not in models.stdout:
                failures.append(f"vqa models does not list it: {models.stdout}")
            else:
                print(f"2. huggingface_hub download -> vqa offline: same answer {cached.stdout.strip()!r}; listed by vqa models")
    server.shutdown()
    for failure in failures:
        print("FAIL:", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
