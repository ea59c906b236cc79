"""Debian's source packages, straight from the archive's pool (no deb-src line needed).

    index = source_index(cache_dir)                  # package name -> SourcePackage, from Sources.xz
    package = index["jsoup"]
    tarball = fetch_file(package.directory, package.upstream, into)   # sha256-checked

Debian's binary packages carry source only for interpreted languages (and Go and Rust); Java, C and
C++ reach Debian as source packages, which the archive serves to anyone: the Sources index names each
package's files and their sha256, and the files lie in the pool beside the binary packages.
"""

from __future__ import annotations

import hashlib
import lzma
import re
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable
from pathlib import Path

MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
_TARBALL = re.compile(r"\.tar\.(gz|xz|bz2)$")


@dataclass(frozen=True)
class SourcePackage:
    name: str
    version: str
    directory: str
    binaries: tuple[str, ...]
    files: tuple[tuple[str, str, int], ...]  # (file name, sha256, size)

    @property
    def upstream(self) -> tuple[str, str, int]:
        """The tarball of the sources: `.orig.tar.*` (a native package's only tarball otherwise)."""
        tarballs = [f for f in self.files if _TARBALL.search(f[0]) and ".debian.tar." not in f[0]]
        main = [f for f in tarballs if re.search(r"\.orig\.tar\.", f[0])] or tarballs
        if not main:
            raise ValueError(f"{self.name} {self.version}: no source tarball")
        return main[0]

    @property
    def packaging(self) -> tuple[str, str, int] | None:
        """The debian/ tarball (None for a native package, whose tarball holds debian/ itself)."""
        return next((f for f in self.files if ".debian.tar." in f[0]), None)


def source_index(cache: Path, suite: str = SUITE) -> dict[str, SourcePackage]:
    """Every source package of `suite`'s main component (the newest version of each)."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"Sources-{suite}"
    if not path.is_file():
        data = urllib.request.urlopen(f"{MIRROR}/dists/{suite}/main/source/Sources.xz", timeout=300).read()
        partial = path.with_suffix(".part")
        partial.write_bytes(lzma.decompress(data))
        partial.replace(path)
    out: dict[str, SourcePackage] = {}
    for paragraph in path.read_text(errors="replace").split("\n\n"):
        fields = _fields(paragraph)
        if "Package" not in fields or "Checksums-Sha256" not in fields:
            continue
        files = tuple((name, sha, int(size)) for sha, size, name in
                      (line.split() for line in fields["Checksums-Sha256"].splitlines() if line.strip()))
        package = SourcePackage(fields["Package"], fields.get("Version", ""), fields.get("Directory", ""),
                                tuple(b.strip() for b in fields.get("Binary", "").replace("\n", " ").split(",")
                                      if b.strip()), files)
        out[package.name] = package  # a later paragraph of the same name is a newer upload
    return out


def _fields(paragraph: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = None
    for line in paragraph.splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def fetch_file(directory: str, file: tuple[str, str, int], into: Path) -> Path:
    """One file (name, sha256, size) of the pool's `directory`, downloaded once and checked against its sha256."""
    name, sha, _ = file
    into.mkdir(parents=True, exist_ok=True)
    target = into / name
    if not target.is_file():
        data = urllib.request.urlopen(f"{MIRROR}/{directory}/{name}", timeout=300).read()
        partial = target.with_name(target.name + ".part")  # a run cut short leaves no truncated file
        partial.write_bytes(data)
        partial.replace(target)
    if hashlib.sha256(target.read_bytes()).hexdigest() != sha:
        target.unlink()
        raise ValueError(f"{name}: sha256 differs from the Sources index's")
    return target


def copyright_text(package: SourcePackage, into: Path) -> str:
    """debian/copyright, from the debian/ tarball (or from a native package's own tarball); from the
    first binary package when the pool lacks the tarball (the same file, installed by every binary)."""
    try:
        tarball = fetch_file(package.directory, package.packaging or package.upstream, into)
    except urllib.error.HTTPError:
        return _binary_copyright(package, into)
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            if member.isfile() and re.search(r"(^|/)debian/copyright$", member.name):
                return tar.extractfile(member).read().decode(errors="replace")
    return ""


def _binary_copyright(package: SourcePackage, into: Path) -> str:
    with tempfile.TemporaryDirectory(dir=into) as tmp:
        for binary in package.binaries[:3]:
            subprocess.run(["apt-get", "download", "-q", binary], cwd=tmp, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            for deb in Path(tmp).glob("*.deb"):
                subprocess.run(["dpkg-deb", "-x", str(deb), tmp + "/root"], check=True)
                found = sorted(Path(tmp, "root").glob("usr/share/doc/*/copyright"))
                if found:
                    return found[0].read_text(errors="replace")
    return ""


def tar_sources(tarball: Path, keep: Callable[[str], bool], limit: int | None = None) -> list[tuple[str, str]]:
    """(path below the top folder, text) of the tarball's files whose path `keep` accepts, in path
    order, the first `limit` of them."""
    wanted = {}
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and keep(m.name.split("/", 1)[-1])]
        first = {m.name for m in sorted(members, key=lambda m: m.name)[:limit]}
        for member in members:  # in the archive's order: a compressed stream is read once, front to back
            if member.name in first:
                wanted[member.name] = tar.extractfile(member).read().decode(errors="replace")
    return [(name.split("/", 1)[-1], wanted[name]) for name in sorted(wanted)]
