"""Runs llama.cpp's own convert_hf_to_gguf.py (from llama-cpp-python's sdist, which vendors
llama.cpp) on a Hugging Face checkpoint; shared by make-tiny-models.py and make-synthetic-hf.py.

The converter names a byte-level BPE pre-tokenizer by hashing how the tokenizer splits a fixed
text, and refuses hashes it does not know, as every made-up vocabulary's is. The tokenizers these
scripts write use exactly Llama 3's or Qwen2's Split regex, so the converter is run unmodified in
a child process whose `get_vocab_base_pre` returns that regex's llama.cpp name ("llama-bpe",
"qwen2") instead of hashing.
"""
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

LLAMA_CPP_PYTHON = "0.3.36"
SCRIPTS = Path(__file__).resolve().parent

# The Split regexes of Llama 3's and Qwen2's tokenizer.json, and llama.cpp's names for them.
LLAMA3_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
PRE_NAME = {LLAMA3_SPLIT: "llama-bpe", QWEN2_SPLIT: "qwen2"}


def fetch_llama_cpp(version=LLAMA_CPP_PYTHON):
    """The llama.cpp tree of llama-cpp-python's sdist (only the converter and gguf-py are
    unpacked), fetched with scripts/fetch-sdist.py into the temp directory once."""
    base = Path(tempfile.gettempdir()) / f"llama-cpp-python-{version}"
    src = base / f"llama_cpp_python-{version}/vendor/llama.cpp"
    if (src / "convert_hf_to_gguf.py").exists():
        return src
    base.mkdir(parents=True, exist_ok=True)
    archive = base / "sdist.tar.gz"
    if not archive.exists():
        subprocess.run([sys.executable, str(SCRIPTS / "fetch-sdist.py"), "llama-cpp-python", version, str(archive)],
                       check=True)
    keep = re.compile(rf"llama_cpp_python-{re.escape(version)}/vendor/llama\.cpp/"
                      r"(convert_hf_to_gguf\.py|conversion/|gguf-py/)")
    with tarfile.open(archive) as t:
        members = [m for m in t.getmembers() if keep.match(m.name)]
        try:
            t.extractall(base, members=members, filter="data")
        except TypeError:  # Python without extraction filters
            t.extractall(base, members=members)
    return src


_CHILD = r"""
import sys
llama_cpp, pre, *argv = sys.argv[1:]
sys.path[:0] = [llama_cpp + "/gguf-py", llama_cpp]
import convert_hf_to_gguf
from conversion import base
base.TextModel.get_vocab_base_pre = lambda self, tokenizer: pre
# Gemma 2's converter insists on a SentencePiece tokenizer.model; these tiny models have a
# byte-level BPE tokenizer.json, which the GPT-2 vocabulary path writes as it is.
from conversion import gemma
gemma.Gemma2Model.set_vocab = base.TextModel._set_vocab_gpt2
sys.argv = ["convert_hf_to_gguf.py", *argv]
convert_hf_to_gguf.main()
"""


def convert(llama_cpp, pre, hf_dir, out, outtype, name=None, quiet=True):
    """convert_hf_to_gguf.py HF_DIR --outfile OUT --outtype OUTTYPE, with the pre-tokenizer named."""
    argv = [sys.executable, "-c", _CHILD, str(llama_cpp), pre, str(hf_dir), "--outfile", str(out), "--outtype", outtype]
    if name:
        argv += ["--model-name", name]
    r = subprocess.run(argv, capture_output=quiet, text=True)
    if r.returncode != 0:
        sys.exit(f"convert_hf_to_gguf.py failed on {hf_dir}" + (f":\n{r.stdout}{r.stderr}" if quiet else ""))
