"""PEP 517 backend of the vllm shim: a pure-Python wheel holding swift_vllm_shim/vllm/ (this
directory's vllm/) and the .pth line that appends swift_vllm_shim to sys.path. Only the
mandatory hook: pip takes the metadata from the wheel, which is cheap to build."""
import importlib.util
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("swift_vllm_build", HERE.parent / "build_backend" / "swift_vllm_build.py")
_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_build)
NAME = "swift_vllm_vllm_shim"
SUMMARY = "`import vllm` as swift_vllm where vLLM itself is not installed"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {f"swift_vllm_shim/{p.relative_to(HERE)}": p.read_bytes() for p in sorted((HERE / "vllm").rglob("*.py"))}
    files[f"{NAME}.pth"] = b"swift_vllm_shim\n"
    return _build.write_wheel(wheel_directory, NAME, _build.VERSION, _build.metadata(NAME, SUMMARY), files, "any", purelib=True)
