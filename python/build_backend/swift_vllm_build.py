"""A PEP 517 build backend for the swift_vllm wheel: runs the Swift release build of the
SwiftVLLM library, links it with the Swift runtime static (so the wheel needs no toolchain at
run time) and writes a wheel (PEP 427) holding python/swift_vllm and the library.

SWIFT_VLLM_LIBRARY=PATH packs an already built libSwiftVLLM.so instead of building one (the test
suite uses its own build: that library loads the Swift runtime from the toolchain)."""
import base64, hashlib, os, pathlib, shutil, subprocess, sys, sysconfig, zipfile

HERE = pathlib.Path(__file__).resolve().parent
PYTHON = HERE.parent
ROOT = PYTHON.parent
NAME, VERSION = "swift_vllm", "0.1.0"
SUMMARY = "vLLM's offline Python API (LLM, SamplingParams) on the swift-vllm engine"


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = pathlib.Path(metadata_directory) / f"{NAME}-{VERSION}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(metadata())
    return info.name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {f"{NAME}/{p.relative_to(PYTHON / NAME)}": p.read_bytes()
             for p in sorted((PYTHON / NAME).rglob("*.py"))}
    files[f"{NAME}/libSwiftVLLM.so"] = library().read_bytes()
    return write_wheel(wheel_directory, NAME, VERSION, metadata(), files, platform_tag())


def metadata(name=NAME, summary=SUMMARY):
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {VERSION}\nSummary: {summary}\nRequires-Python: >=3.9\n"


def platform_tag():
    return sysconfig.get_platform().replace("-", "_").replace(".", "_")


def library():
    given = os.environ.get("SWIFT_VLLM_LIBRARY")
    if given:
        return pathlib.Path(given)
    scratch = ROOT / ".build-python"
    swift = shutil.which("swift")
    if swift is None:
        sys.exit("swift_vllm: building it needs the Swift toolchain (swift) on PATH")
    static_dir = pathlib.Path(swift).resolve().parents[1] / "lib" / "swift_static" / "linux"
    # --static-swift-stdlib compiles the objects for the static runtime, but SwiftPM still links
    # a dynamic library against the shared one (the flag covers executables; the static-only
    # Foundation parts are found through -L). So the same objects are linked again below with
    # the runtime and Foundation static: the wheel then needs only libc, libstdc++ and zlib.
    run(["swift", "build", "-c", "release", "--static-swift-stdlib", "--product", "SwiftVLLM", "--scratch-path", str(scratch),
         "-Xlinker", "-L" + str(static_dir)])
    release = scratch / "release"
    objects = release / "SwiftVLLM.product" / "Objects.LinkFileList"
    if not objects.exists():
        sys.exit(f"swift_vllm: {objects} is missing: this SwiftPM lays out its build differently")
    out = scratch / "libSwiftVLLM-static.so"
    run(["swiftc", "-emit-library", "-static-stdlib", "-module-name", "SwiftVLLM", "-o", str(out), f"@{objects}",
         "-L", str(release), "-lstdc++", "-lm", "-lz", "-Xlinker", "--gc-sections"])
    if shutil.which("strip"):
        run(["strip", str(out)])
    return out


def run(cmd):
    print("swift_vllm: " + " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=sys.stderr)


def write_wheel(directory, name, version, metadata_text, files, tag, purelib=False):
    """`files`: archive path → bytes. Adds the .dist-info (METADATA, WHEEL, RECORD)."""
    info = f"{name}-{version}.dist-info"
    files = dict(files)
    files[f"{info}/METADATA"] = metadata_text.encode()
    files[f"{info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: swift_vllm_build\nRoot-Is-Purelib: {str(purelib).lower()}\n"
                              f"Tag: py3-none-{tag}\n").encode()
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = pathlib.Path(directory) / f"{name}-{version}-py3-none-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            mode = 0o755 if path.endswith(".so") else 0o644
            entry = zipfile.ZipInfo(path, date_time=(2026, 1, 1, 0, 0, 0))
            entry.external_attr = (0o100000 | mode) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(entry, data)
    return wheel.name
