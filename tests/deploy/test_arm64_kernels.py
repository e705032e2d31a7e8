"""The arm64 image builds from the same Containerfile; its only architecture-specific code is the C
kernels (the Swift sources have no architecture conditionals). This compiles every kernel file for
aarch64 with the toolchain's clang against Debian's arm64 cross headers, so an x86-only intrinsic
outside its guard fails here rather than in someone's arm64 build."""
import os, pathlib, shutil, subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
KERNELS = ROOT / "Sources/CKernels"
SYSROOT = pathlib.Path("/usr/aarch64-linux-gnu")


@pytest.fixture(scope="module")
def sysroot():
    if not (SYSROOT / "include/stdio.h").exists():
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.skip("no arm64 cross headers (Debian's libc6-dev-arm64-cross) and no root to install them")
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "libc6-dev-arm64-cross"], check=True, capture_output=True,
                       timeout=600, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return SYSROOT


def clang():
    swift = shutil.which("swift")
    assert swift, "the Swift toolchain is not on PATH"
    return str(pathlib.Path(swift).resolve().parent / "clang")


@pytest.mark.parametrize("source", sorted(p.name for p in KERNELS.glob("*.c")))
def test_kernel_compiles_for_aarch64(sysroot, source, tmp_path):
    p = subprocess.run([clang(), "--target=aarch64-linux-gnu", f"--sysroot={sysroot}", "-isystem", f"{sysroot}/include",
                        "-I", str(KERNELS / "include"), "-O2", "-std=gnu11", "-Wall", "-Werror", "-c", str(KERNELS / source),
                        "-o", str(tmp_path / "k.o")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert b"\xb7\x00" == (tmp_path / "k.o").read_bytes()[18:20]  # ELF e_machine 183: EM_AARCH64
