"""The real machine: a cached kernel per patch set, an initramfs per program, a qemu run.

Kernels are built from Debian's linux-source-<version> tarball in a cache outside the
repository ($XDG_CACHE_HOME/swaplab, else ~/.cache/swaplab): one source tree per version with
the delay points applied, and one bzImage per variant patch, keyed by the version and a hash of
the config and the patches, so a kernel is built once and every program and delay reuses it.
"""
from __future__ import annotations

import fcntl
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .kernels import KernelDesign

PACKAGES = ("qemu-system-x86", "busybox-static", "gcc", "libc6-dev", "make", "bc", "flex", "bison",
            "libelf-dev", "libssl-dev", "cpio", "xz-utils", "patch", "linux-source-6.1")
TOOLS = {"qemu-system-x86_64": "qemu-system-x86", "gcc": "gcc", "make": "make", "patch": "patch",
         "flex": "flex", "bison": "bison", "bc": "bc"}
BUSYBOX = ("/bin/busybox", "/usr/bin/busybox")


class MachineError(Exception):
    """Something the real-kernel run needs is missing or failed; str() says what to do."""


def install_command() -> str:
    return "apt-get install -y " + " ".join(PACKAGES)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "swaplab"


def _data(version: str, name: str) -> bytes:
    return resources.files("swaplab.transplant").joinpath(f"kernel/{version}/{name}").read_bytes()


def source_tarball(version: str) -> Path:
    p = Path(f"/usr/src/linux-source-{version}.tar.xz")
    if not p.is_file():
        raise MachineError(f"{p} is missing: install the kernel source with `{install_command()}` (as root)")
    return p


def check_tools() -> None:
    missing = [pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    if not any(os.path.exists(b) for b in BUSYBOX):
        missing.append("busybox-static")
    if missing:
        raise MachineError(f"missing system packages: {', '.join(sorted(set(missing)))}; install them with "
                           f"`{install_command()}` (as root; `make validate` does it)")


def kernel_key(kd: KernelDesign) -> str:
    h = hashlib.sha256()
    for part in (_data(kd.version, "config"), _data(kd.version, "hooks.patch"),
                 _data(kd.version, kd.variant) if kd.variant else b""):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:12]


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _run(cmd, cwd, log: Path, what: str) -> None:
    with open(log, "ab") as out:
        r = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise MachineError(f"{what} failed (exit {r.returncode}); the end of {log}:\n" + "\n".join(tail))


def _sublevel(tree: Path) -> str:
    text = (tree / "Makefile").read_text(errors="replace")
    m = {k: re.search(rf"^{k} = (\S*)", text, re.M) for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL")}
    return ".".join(x.group(1) for x in m.values() if x)


def _prepare_tree(version: str, log, say) -> Path:
    """The version's source tree with the delay points applied and configured (made once)."""
    root = cache_dir() / "src"
    tree = root / f"linux-source-{version}"
    stamp = tree / ".swaplab-stamp"
    want = hashlib.sha256(_data(version, "hooks.patch") + _data(version, "config")).hexdigest()
    if stamp.is_file() and stamp.read_text() == want:
        return tree
    if tree.exists():
        shutil.rmtree(tree)
    root.mkdir(parents=True, exist_ok=True)
    say(f"extracting {source_tarball(version)} into {root}")
    _run(["tar", "-xf", str(source_tarball(version))], root, log, "extracting the kernel source")
    if not tree.is_dir():
        raise MachineError(f"{source_tarball(version)} did not hold linux-source-{version}/")
    patch = root / f"hooks-{version}.patch"
    patch.write_bytes(_data(version, "hooks.patch"))
    _run(["patch", "-p1", "-i", str(patch)], tree, log, "applying the delay points (hooks.patch)")
    _run(["make", "tinyconfig"], tree, log, "make tinyconfig")
    with open(tree / ".config", "ab") as f:
        f.write(b"\n" + b"\n".join(ln for ln in _data(version, "config").splitlines()
                                   if ln.strip() and not ln.startswith(b"#")) + b"\n")
    _run(["make", "olddefconfig"], tree, log, "make olddefconfig")
    stamp.write_text(want)
    return tree


def kernel_image(kd: KernelDesign, say=lambda s: None) -> Path:
    """The bzImage for a kernel design, built once and cached."""
    check_tools()
    key = kernel_key(kd)
    with _locked(cache_dir() / "build.lock"):
        tree_guess = cache_dir() / "src" / f"linux-source-{kd.version}"
        version = _sublevel(tree_guess) if (tree_guess / "Makefile").is_file() else kd.version
        out = cache_dir() / "kernels" / f"{version}-{key}"
        image = out / "bzImage"
        if image.is_file():
            return image
        out.mkdir(parents=True, exist_ok=True)
        log = out / "build.log"
        log.write_text("")
        tree = _prepare_tree(kd.version, log, say)
        variant = None
        if kd.variant:
            variant = out / kd.variant
            variant.write_bytes(_data(kd.version, kd.variant))
            _run(["patch", "-p1", "-i", str(variant)], tree, log, f"applying {kd.variant}")
        try:
            say(f"building {_sublevel(tree)} ({kd.variant or 'as shipped'}, with the delay points): "
                f"a few minutes the first time; log in {log}")
            _run(["make", f"-j{os.cpu_count() or 1}", "bzImage"], tree, log, "the kernel build")
            shutil.copy(tree / "arch/x86/boot/bzImage", image.with_suffix(".tmp"))
            os.replace(image.with_suffix(".tmp"), image)
        finally:
            if variant is not None:
                _run(["patch", "-R", "-p1", "-i", str(variant)], tree, log, f"removing {kd.variant}")
        final = cache_dir() / "kernels" / f"{_sublevel(tree)}-{key}"
        if final != out and not final.exists():
            out.rename(final)
            image = final / "bzImage"
        return image


def compile_program(source: str, workdir: Path) -> Path:
    c = workdir / "program.c"
    c.write_text(source)
    exe = workdir / "program"
    r = subprocess.run(["gcc", "-O2", "-Wall", "-static", "-pthread", str(c), "-o", str(exe)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise MachineError(f"gcc could not build {c}:\n{r.stderr[-2000:]}")
    return exe


INIT = """#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
cd /sys/block/zram0
# rotational: the 6.1 cluster allocator can miss the one free slot of a tiny non-rotational swap
echo 1 > queue/rotational
echo {disksize} > disksize
echo "sync_io {sync_io}" > /proc/swaplab
# the model reads one page per swap-in: no readahead of the neighbouring slots
echo 0 > /proc/sys/vm/page-cluster
/bin/busybox mkswap /dev/zram0 > /dev/null
/bin/busybox swapon /dev/zram0
echo "SWAPLAB BOOTED $(/bin/busybox uname -r) sync_io={sync_io}"
/program {iterations}
echo "SWAPLAB EXIT $?"
# tinyconfig has no ACPI: poweroff would leave qemu running; qemu runs with -no-reboot
/bin/busybox reboot -f
"""


def _cpio_newc(files: list[tuple[str, int, bytes]]) -> bytes:
    """An uncompressed initramfs (newc format): (path, mode, contents) in order; directories
    have contents None."""
    out = bytearray()
    ino = 1
    for name, mode, data in files + [("TRAILER!!!", 0, b"")]:
        data = data or b""
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08X}" for v in (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0,
                                                       len(nb), 0))
        out += hdr.encode() + nb
        out += b"\0" * (-len(out) % 4)
        out += data
        out += b"\0" * (-len(out) % 4)
        ino += 1
    return bytes(out)


def initramfs(program: Path, workdir: Path, *, iterations: int, device_slots: int, sync_io: bool) -> Path:
    busybox = next((b for b in BUSYBOX if os.path.exists(b)), None)
    if busybox is None:
        raise MachineError(f"busybox is missing: `{install_command()}`")
    init = INIT.format(disksize=(device_slots + 1) * 4096, sync_io=int(sync_io), iterations=iterations)
    files = [("bin", 0o40755, None), ("proc", 0o40755, None), ("sys", 0o40755, None), ("dev", 0o40755, None),
             ("bin/busybox", 0o100755, Path(busybox).read_bytes()), ("init", 0o100755, init.encode()),
             ("program", 0o100755, program.read_bytes())]
    img = workdir / "initramfs.cpio.gz"
    img.write_bytes(gzip.compress(_cpio_newc(files), compresslevel=1))
    return img


@dataclass
class RunResult:
    iterations: int
    losses: int
    skipped: int
    diverged: int
    seconds: float
    output: str


def run_qemu(image: Path, initrd: Path, *, timeout: float, log: Path | None = None) -> RunResult:
    # the default machine (i440fx): its BIOS has an MP table, the only way a kernel without ACPI
    # finds the second CPU
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-smp", "2", "-m", "256M",
           "-kernel", str(image), "-initrd", str(initrd),
           "-append", "console=ttyS0 quiet panic=-1", "-nographic", "-no-reboot"]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        text = r.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        text = (e.stdout or b"").decode(errors="replace")
        if log:
            log.write_text(text)
        raise MachineError(f"qemu did not finish within {timeout:.0f} s (output kept in {log})") from None
    seconds = time.perf_counter() - t0
    if log:
        log.write_text(text)
    m = re.search(r"SWAPLAB RESULT iterations=(\d+) losses=(\d+) skipped=(\d+) diverged=(\d+)", text)
    if m is None:
        tail = "\n".join(text.splitlines()[-20:])
        raise MachineError(f"the run printed no result (qemu exit {r.returncode}); its last lines:\n{tail}")
    it, lo, sk, dv = (int(x) for x in m.groups())
    return RunResult(it, lo, sk, dv, seconds, text)
