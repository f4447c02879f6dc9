#!/usr/bin/env python3
"""llama.cpp as a reference runtime for bench_smolvlm.py, set up outside the repository.

Downloads the llama-cpp-python source package from PyPI (pinned below; it vendors the whole
llama.cpp tree), builds llama-mtmd-cli and llama-quantize for this CPU, and converts a SmolVLM
checkpoint with the vendored convert_hf_to_gguf.py into text-f16.gguf, text-q8_0.gguf (by
llama-quantize) and mmproj-f16.gguf. The benchmark checkpoint is made with a fixed seed, so the
files match the one bench_smolvlm.py makes. Run from the repository root (the build takes 8 to 20 minutes):

    ../venv/bin/python tools/bench/setup_llamacpp.py [--dir /work/llama.cpp-bench] [--model /tmp/bench-smolvlm]
    ../venv/bin/python tools/bench/bench_smolvlm.py --llamacpp /work/llama.cpp-bench
"""
import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSION = "0.3.36"  # vendors llama.cpp 0c1e57098bba43ac29e6e3b677cdceebdd22334f
SDIST = f"llama_cpp_python-{VERSION}.tar.gz"
NICE = ["nice", "-n", "10"]  # the machine is shared: builds and conversions yield to everything else

# The converter, run as-is, with one override: it names the pre-tokenizer by hashing a test text's
# token ids, and the fixture tokenizer has fewer merges than SmolLM's, so its hash is unknown. Its
# pre-tokenizer (digits split, then byte-level) is SmolLM's, so an unrecognised one is "smollm".
CONVERT = r'''
import runpy, sys
llama, argv = sys.argv[1], sys.argv[2:]
sys.path[:0] = [llama, llama + "/gguf-py"]
from conversion import base
recognise = base.TextModel.get_vocab_base_pre
def get_vocab_base_pre(self, tokenizer):
    try:
        return recognise(self, tokenizer)
    except NotImplementedError:
        base.logger.warning("pre-tokenizer not recognised: using smollm's")
        return "smollm"
base.TextModel.get_vocab_base_pre = get_vocab_base_pre
sys.argv = [llama + "/convert_hf_to_gguf.py", *argv]
runpy.run_path(sys.argv[0], run_name="__main__")
'''


def run(command, **kwargs):
    print("+", " ".join(map(str, command)), flush=True)
    subprocess.run([str(part) for part in command], check=True, **kwargs)


def source(folder, downloads):
    """The sdist, from an earlier download if there is one, extracted whole: its .git keeps the
    vendored tree's commit, which the build records."""
    tree = folder / f"llama_cpp_python-{VERSION}"
    if not (tree / "vendor" / "llama.cpp" / "CMakeLists.txt").exists():
        sdist = next((d / SDIST for d in [*downloads, folder / "sdist"] if (d / SDIST).exists()), None)
        if sdist is None:
            # Only llama-cpp-python itself from source: --no-binary :all: would also build its
            # build dependencies (cmake, ninja) from source just to read its metadata.
            run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "llama-cpp-python",
                 f"llama-cpp-python=={VERSION}", "-d", folder / "sdist"])
            sdist = folder / "sdist" / SDIST
        with tarfile.open(sdist) as archive:
            archive.extractall(folder, filter="data")
    return tree / "vendor" / "llama.cpp"


def build(llama, folder):
    bin_dir = Path(sys.executable).parent  # the venv's cmake
    if not (bin_dir / "cmake").exists():
        run([sys.executable, "-m", "pip", "install", "cmake"])
    run(NICE + [bin_dir / "cmake", "-S", llama, "-B", folder / "build", "-DGGML_NATIVE=ON", "-DLLAMA_CURL=OFF",
                "-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_SERVER=OFF"])
    run(NICE + [bin_dir / "cmake", "--build", folder / "build", "--target", "llama-mtmd-cli", "llama-quantize", "-j1"])


def convert(llama, folder, model):
    if importlib.util.find_spec("sentencepiece") is None:  # imported by the converter's vocabulary code
        run([sys.executable, "-m", "pip", "install", "sentencepiece"])
    with tempfile.TemporaryDirectory() as tmp:
        if model is None:
            model = Path(tmp) / "smolvlm-256m"
            run(NICE + [sys.executable, ROOT / "tools" / "fixtures" / "make_smolvlm_fixtures.py", "--benchmark", model])
        # A copy to adjust, the weights linked: the checkpoint itself is left untouched.
        copy = Path(tmp) / "copy" / model.name  # the folder's name becomes the GGUF's general.name
        copy.mkdir(parents=True)
        for file in model.iterdir():
            if file.suffix == ".safetensors":
                (copy / file.name).symlink_to(file.resolve())
            else:
                shutil.copy(file, copy)
        config = json.loads((copy / "config.json").read_text())
        # The converter picks the text model's class from text_config's architectures.
        config["text_config"].setdefault("architectures", ["LlamaForCausalLM"])
        (copy / "config.json").write_text(json.dumps(config, indent=2))
        # llama.cpp's Idefics3 prompt starts each image with the single token "\n\n", found by its text.
        vocab = json.loads((copy / "tokenizer.json").read_text())["model"]["vocab"]
        if "ĊĊ" not in vocab:
            sys.exit('the tokenizer has no single "\\n\\n" token, which llama.cpp\'s Idefics3 prompt needs')
        convert = [sys.executable, "-c", CONVERT, llama, copy, "--outtype", "f16", "--outfile"]
        run(NICE + convert + [folder / "text-f16.gguf"])
        run(NICE + convert + [folder / "mmproj-f16.gguf", "--mmproj"])
    run(NICE + [folder / "build" / "bin" / "llama-quantize", folder / "text-f16.gguf", folder / "text-q8_0.gguf", "Q8_0"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("/work/llama.cpp-bench"))
    parser.add_argument("--model", type=Path, help="a SmolVLM checkpoint folder (default: a new benchmark fixture)")
    parser.add_argument("--sdist-dir", type=Path, action="append", default=[Path("/tmp/llama-src")],
                        help=f"where an earlier download of {SDIST} may be")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    llama = source(args.dir.resolve(), args.sdist_dir)
    build(llama, args.dir.resolve())
    convert(llama, args.dir.resolve(), args.model)
    print(f"llama.cpp {VERSION} (llama-cpp-python) ready in {args.dir}")


if __name__ == "__main__":
    main()
