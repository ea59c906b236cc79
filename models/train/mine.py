"""Training pairs for the code model, mined with Patina's own extractor from third-party source.

    python models/train/mine.py select OUT_DIR [--packages rust=260 ...]   choose packages, write the manifest
    python models/train/mine.py select-npm OUT_DIR [--npm N] [--npm-javascript]
                                                       add npm packages with TypeScript (or JavaScript) sources
    python models/train/mine.py select-source OUT_DIR --packages java=N c=N   add Debian source packages
    python models/train/mine.py pairs OUT_DIR [--resume]               mine the manifest's packages
    python models/train/mine.py decontaminate OUT_DIR SET_DIR ...      drop what a development set holds
    python models/train/mine.py related OUT_DIR SET_DIR ...            pairs of units whose docs link them

A pair is (a description, the text Patina embeds for the unit). The description is the first
sentence of the unit's doc, reduced as the code-only dev sets reduce theirs
(tests/benchmarks/code_only_sets.py); the text is the unit's summary or first code window with its
docs blanked (most pairs: the model must learn to map descriptions to undocumented code), or its
summary with the doc kept (a share, so documented code does not regress).

Sources: Debian's binary packages that carry source (python3-*, golang-*-dev, librust-*-dev,
node-*); for TypeScript, and with --npm-javascript for JavaScript, npm's tarballs of the projects
Debian packages as node-* and of their dependencies (Debian ships the compiled JavaScript only);
Debian's source packages for Java and C; and PyPI sdists of packages that bundle a C library. Only
permissive licences (every licence the package's debian/copyright names for its files, or the
registry's licence). Excluded by name: every package of a development set and the packages that
copy parts of a standard library (EXCLUDED below). Excluded by content: every pair whose description
or code also occurs in a standard library (Python's, Go's, Rust's, Java's, C's and Node's, all from
this machine or Debian), and a package whose pairs do so often. Near-duplicate pairs (same
description or same code) are dropped.
A tenth of the packages (by a hash of the name) is held out for validation.

`select` writes models/train/manifest.json (package, version, licence, sha256 of the archive);
`pairs` downloads exactly those versions, checks each archive's sha256 and is deterministic for it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
import zlib
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "benchmarks"))
import debian_source  # noqa: E402
from code_only_sets import first_sentence  # noqa: E402

from patina_lsp.embedding.tokenizer import load_tokenizer  # noqa: E402
from patina_lsp.index import chunks  # noqa: E402
from patina_lsp.index.extraction import Extractor  # noqa: E402
from patina_lsp.index.languages import language_of  # noqa: E402
from patina_lsp.index.units import Unit  # noqa: E402

MANIFEST = Path(__file__).resolve().parent / "manifest.json"

# Debian binary packages that carry source, by where the source lies in the package
DEBIAN_FAMILIES = {
    "python": (re.compile(r"^python3-[a-z0-9][a-z0-9.+-]*$"), "usr/lib/python3/dist-packages", (".py",)),
    "go": (re.compile(r"^golang-[a-z0-9.-]+-dev$"), "usr/share/gocode/src", (".go",)),
    "rust": (re.compile(r"^librust-[a-z0-9-]+-dev$"), "usr/share/cargo/registry", (".rs",)),
    "javascript": (re.compile(r"^node-[a-z0-9.-]+$"), "usr/share/nodejs", (".js", ".ts", ".mjs")),
}
# C: PyPI sdists that bundle a documented C library (only their .c and .h files are read)
C_SDISTS = {
    "zstandard==0.23.0": "BSD-3-Clause",
    "lz4==4.3.3": "BSD-3-Clause",
    "Brotli==1.1.0": "MIT",
    "xxhash==3.5.0": "BSD-2-Clause",
    "PyNaCl==1.5.0": "Apache-2.0 (libsodium: ISC)",
    "pycryptodome==3.21.0": "BSD-2-Clause / public domain",
    "bitarray==3.0.0": "PSF-2.0",
    "ujson==5.10.0": "BSD-3-Clause",
}

# Java and C: Debian's source packages (the archive's pool; Debian's binary packages carry no Java or
# C source): a package is a candidate when it builds a library package of the language, and taken
# when its upstream tarball holds at least SOURCE_MIN_FILES of the language's files outside tests
SOURCE_FAMILIES = {
    "java": (re.compile(r"^lib[a-z0-9.+-]*-java$"), (".java",)),
    "c": (re.compile(r"^lib(?!rust-)[a-z0-9.+-]*-dev$"), (".c", ".h")),
}
SOURCE_MIN_FILES = 5
SOURCE_MAX_BYTES = 15_000_000  # the upstream tarball, compressed: larger ones are applications or bundles
SOURCE_THREADS = 8
# Standard libraries and their copies, by source package name: Java's (OpenJDK, GNU Classpath,
# Android's libcore, backports of JDK APIs), C's and C++'s (every libc, gcc's libstdc++,
# LLVM's libc++, gnulib), the interpreters and compilers whose sources hold their language's standard
# library (Lua's, Tcl's ... are written in C), the Java development set's packages
# (tests/benchmarks/code_only_sets.py) with their siblings (Apache Commons copy code among themselves),
# and the C development set's (libgit2, libevent, libssh, and their other Debian packagings)
SOURCE_EXCLUDED = re.compile(r"""^(
    openjdk-.*|icedtea.*|classpath|android-.*|backport.*|jsr166.*|gcc-.*|glibc|musl|newlib
  | dietlibc|klibc|picolibc|uclibc.*|avr-libc|mingw-w64.*|llvm-toolchain-.*|libcxx.*|gnulib|bionic
  | lua[0-9.]*|luajit.*|tcl[0-9.]*|tk[0-9.]*|python[0-9.]*|perl|ruby[0-9.]*|php[0-9.]*|nodejs|rustc.*|golang-.*
  | commons-.*|libcommons-.*|jsoup
  | libgit2.*|libevent.*|libssh.*
)$""", re.X)

# TypeScript: npm's tarballs (the `latest` version when selected) of the projects Debian packages as
# node-*, when they ship TypeScript sources. Excluded besides EXCLUDED: re-implementations of a
# development set's API whose docs follow it (lodash's, rxjs'), type-only packages, and the browser
# copies of Node's own modules (as EXCLUDED names Debian's).
NPM_REGISTRY = "https://registry.npmjs.org"
NPM_EXCLUDED = re.compile(r"""^(
    .*lodash.*|underscore.*|es-toolkit|remeda|radash|just-.*|rambda|ramda|rx|rx-.*|.*rxjs.*|.*mobx.*|.*immer.*
  | .*tanstack.*
  | react-query|typescript|tslib|core-js.*|babel.*|types-.*|.*polyfill.*|.*-browserify|browserify.*
  | events|util|buffer|assert|path|url|punycode|string_decoder|string-decoder|process|querystring.*
  | readable-stream|inherits|safe-buffer|domain-browser|node-libs-browser|stream-http|regenerator.*
)$""", re.X)
NPM_SUFFIXES = (".ts", ".tsx", ".mts", ".cts")
NPM_JS_SUFFIXES = (".js", ".mjs", ".cjs")
NPM_MAX_LINE = 1000  # characters: a JavaScript file with a longer line is bundled or minified
NPM_PACKAGES = 300
NPM_MIN_FILES = 3  # a package with fewer TypeScript files is mostly JavaScript or types
NPM_MAX_UNPACKED = 30_000_000  # bytes: larger tarballs are bundles, binaries or data
NPM_THREADS = 24

# Development sets (pallets: Jinja2, Werkzeug, Flask, Click, MarkupSafe, ItsDangerous; django;
# rust-nodoc's crates; npm-nodoc's packages, and rx: RxJS 4, rxjs' predecessor), packages found to carry copies of them (`decontaminate`
# found node-inquirer bundling rxjs, ucd-util and fancy-regex repeating regex's code and docs), and
# copies of standard-library code
EXCLUDED = re.compile(r"""^(
    python3-(jinja2|werkzeug|flask.*|click.*|markupsafe|itsdangerous|django.*|.*-django|.*django.*)
  | librust-(regex|itertools|chrono|indexmap|bytes|serde-json|hashbrown)(-.*)?-dev
  | node-(rxjs|rx|mobx|immer|tanstack|lodash)(-.*)?
  | node-inquirer|librust-(ucd-util|fancy-regex)-dev
  | golang-golang-x-.*|golang-go.*|golang-[0-9.]+-.*|golang-src|golang-github-golang-.*
  | python3-(backports.*|mock|future|six|typing-extensions|importlib-metadata|importlib-resources|zipp|tomli
             |exceptiongroup|contextlib2|pathlib2|configparser|singledispatch|funcsigs|dataclasses|enum34
             |statistics|asyncio.*|trollius|subprocess32|futures|pep517|setuptools|pip|distutils.*|stdlib-.*
             |typing|argparse|ipaddress|simplejson|regex|pickle5|zoneinfo|cached-property|selectors34|mypy|typeshed.*)
  | librust-(std|core|alloc|compiler-builtins|rustc-.*|libc)(-[0-9].*)?-dev
  | node-(events|util|buffer|assert|path-browserify|url|punycode|string-decoder|process|querystring.*
           |readable-stream|stream-browserify|os-browserify|timers-browserify|crypto-browserify|console-browserify
           |browserify.*|inherits|safe-buffer|core-js.*|typescript|babel.*|regenerator.*|tslib)
)$""", re.X)

PERMISSIVE = {"mit", "expat", "bsd-2-clause", "bsd-3-clause", "bsd", "apache-2.0", "apache-2", "isc", "zlib",
              "psf-2", "psf", "python-2.0", "0bsd", "unlicense", "cc0-1.0", "cc0", "mit-0", "bsl-1.0", "x11",
              "bsd-2", "bsd-3", "public-domain", "apache", "bsd-4-clause", "boost-1.0", "python"}

# Node and Rust packages are small (few documented units each): more of them
PACKAGES_PER_LANGUAGE = {"python": 110, "go": 110, "rust": 260, "javascript": 400}
MAX_FILES = 400  # per package, in path order: one large package must not dominate
MAX_PAIRS = 120  # per package, sampled with the package's own seed
MAX_RELATED = 300  # related pairs per package: one whose docs link everything (Effect's) must not dominate
DOC_FORMS = (("summary-no-doc", 0.45), ("window-no-doc", 0.40), ("summary-with-doc", 0.15))
HOLD_OUT_SHARE = 10  # one package in ten
STDLIB_SHARE_DROP = 0.10  # drop a package when this share of its pairs also occurs in a standard library
PAIR_KINDS = {"function", "method", "class", "struct", "interface", "enum", "trait", "type", "module", "record",
              "namespace", "constructor", "union", "impl"}


def stable_hash(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:16], 16)


def licences_of(copyright_text: str) -> list[str]:
    """The licence expressions of the package's files (not of the debian/ packaging)."""
    out = []
    for paragraph in re.split(r"\n\s*\n", copyright_text):
        files = re.search(r"^Files:\s*(.+)$", paragraph, re.M)
        licence = re.search(r"^License:\s*(.+)$", paragraph, re.M)
        if files and licence and not files.group(1).strip().startswith("debian/"):
            out.append(licence.group(1).strip())
    return out


def permissive(expression: str) -> bool:
    """Every 'and' term has a permissive alternative ('MIT or Apache-2.0', 'BSD-3-clause and Expat')."""
    for term in re.split(r"\s+and\s+|,\s*", expression.lower()):
        options = [o.strip(" ()").removesuffix("+") for o in re.split(r"\s+or\s+", term)]
        if not any(o in PERMISSIVE or o.replace("-with-", " ").split()[0] in PERMISSIVE for o in options if o):
            return False
    return True


def run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        hint = " (on a fresh machine: `apt-get update` first)" if cmd[0] == "apt-get" else ""
        raise RuntimeError(f"{' '.join(cmd[:3])} … failed{hint}:\n{done.stderr.strip()[-2000:]}")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def debian_sources(deb: Path, language: str, into: Path) -> tuple[list[tuple[str, str]], str]:
    """(relative path, text) of the package's source files, and its copyright text."""
    _, root, suffixes = DEBIAN_FAMILIES[language]
    target = into / deb.stem
    run(["dpkg-deb", "-x", str(deb), str(target)], into)
    copyright_files = sorted(target.glob("usr/share/doc/*/copyright"))
    copyright_text = copyright_files[0].read_text(errors="replace") if copyright_files else ""
    base = target / root
    files = []
    if base.is_dir():
        for path in sorted(p for p in base.rglob("*") if p.is_file() and not p.is_symlink()):
            rel = path.relative_to(base).as_posix()
            if path.suffix in suffixes and not skipped_path(rel):
                files.append((rel, path.read_text(errors="replace")))
    return files[:MAX_FILES], copyright_text


def skipped_path(rel: str) -> bool:
    """Tests, examples, vendored copies, generated, minified and declaration files."""
    return bool(re.search(r"(^|/)(tests?|testdata|testing|__tests__|examples?|vendor|third_party|node_modules|"
                          r"dist|build|benches|fixtures)/|_test\.go$|\.d\.ts$|\.min\.js$|[._-](spec|test)\.[jt]s$|"
                          r"(^|/)test_[^/]*\.py$|\.pb\.go$|_generated|\.gen\.", rel))


def sdist_sources(archive: Path) -> list[tuple[str, str]]:
    files = []
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            members = sorted(zf.namelist())
            for name in members:
                rel = name.split("/", 1)[-1]
                if rel.endswith((".c", ".h")) and not skipped_path(rel):
                    files.append((rel, zf.read(name).decode(errors="replace")))
    else:
        files = debian_source.tar_sources(archive, lambda rel: rel.endswith((".c", ".h")) and not skipped_path(rel))
    return files[:MAX_FILES]


def npm_sources(archive: Path, language: str = "typescript") -> list[tuple[str, str]]:
    """(path inside the package, text) of a tarball's TypeScript sources (declarations skipped), or
    of its JavaScript sources with the bundled and minified files (a line over NPM_MAX_LINE) left out."""
    if language == "typescript":
        return debian_source.tar_sources(archive, lambda rel: rel.endswith(NPM_SUFFIXES) and not skipped_path(rel),
                                         MAX_FILES)
    files = debian_source.tar_sources(archive, lambda rel: rel.endswith(NPM_JS_SUFFIXES) and not skipped_path(rel))
    return [(rel, text) for rel, text in files
            if max((len(line) for line in text.splitlines()), default=0) <= NPM_MAX_LINE][:MAX_FILES]


def source_tarball_files(archive: Path, language: str) -> list[tuple[str, str]]:
    """(path below the top folder, text) of a source tarball's files in `language`, tests and the like skipped."""
    suffixes = SOURCE_FAMILIES[language][1]
    return debian_source.tar_sources(archive, lambda rel: rel.endswith(suffixes) and not skipped_path(rel)
                                     and not rel.startswith(("debian/", ".pc/")), MAX_FILES)


def npm_excluded(name: str) -> bool:
    """An npm name (`@scope/name` read as `scope-name`) that NPM_EXCLUDED names."""
    return bool(NPM_EXCLUDED.match(name.replace("@", "").replace("/", "-")))


def excluded(entry: dict) -> bool:
    if entry["source"] == "npm":
        return npm_excluded(entry["package"].removeprefix("npm-"))
    if entry["source"] == "debian-source":
        return bool(SOURCE_EXCLUDED.match(entry["package"]))
    return bool(EXCLUDED.match(entry["package"]))


# -- selecting packages ------------------------------------------------------------------------------

def candidates(language: str) -> list[str]:
    pattern = DEBIAN_FAMILIES[language][0]
    names = subprocess.run(["apt-cache", "pkgnames"], capture_output=True, text=True, check=True).stdout.split()
    names = [n for n in names if pattern.match(n) and "+" not in n and not n.endswith(("-doc", "-dbg"))
             and not EXCLUDED.match(n)]
    return sorted(names, key=lambda n: stable_hash(n))


def select(out: Path, counts: dict[str, int], manifest: Path = MANIFEST) -> None:
    work = out / "select"
    work.mkdir(parents=True, exist_ok=True)
    archives = out / "work" / "archives"
    archives.mkdir(parents=True, exist_ok=True)
    chosen = []
    for language in DEBIAN_FAMILIES:
        per_language = counts[language]
        kept = 0
        names = candidates(language)
        for start in range(0, len(names), 40):
            if kept >= per_language:
                break
            group = names[start:start + 40]
            # one apt-get for a group: a call per package costs more than its download
            subprocess.run(["apt-get", "download", "-q", *group], cwd=work, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            for name in group:
                if kept >= per_language:
                    break
                debs = sorted(work.glob(f"{name}_*.deb"))
                if not debs:
                    continue
                deb = debs[0]
                files, copyright_text = debian_sources(deb, language, work)
                licences = licences_of(copyright_text)
                version = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True,
                                         check=True).stdout.strip()
                if not files or not licences or not all(permissive(x) for x in licences):
                    print(f"skip {name} {version}: {'no source files' if not files else licences}", flush=True)
                    continue
                chosen.append({"package": name, "source": "debian", "language": language, "version": version,
                               "licence": " / ".join(sorted(set(licences))), "sha256": sha256_file(deb)})
                kept += 1
                print(f"take {name} {version} ({language}, {chosen[-1]['licence']})", flush=True)
            for deb in work.glob("*.deb"):  # kept for `pairs` (download_all looks there first)
                deb.replace(archives / deb.name)
            for folder in work.iterdir():
                if folder.is_dir():
                    subprocess.run(["rm", "-rf", str(folder)], check=True)
    for spec, licence in C_SDISTS.items():
        name, version = spec.split("==")
        chosen.append({"package": name, "source": "pypi-sdist", "language": "c", "version": version,
                       "licence": licence, "sha256": sha256_file(download_sdist(spec, work))})
    manifest.write_text(json.dumps({"packages": chosen}, indent=1) + "\n")
    print(f"{len(chosen)} packages in {manifest}")


def npm_candidate(name: str, into: Path, javascript: bool = False) -> tuple[dict | None, list[str]]:
    """The manifest entry of npm's latest `name` if its licence is permissive and it ships TypeScript
    sources (with `javascript`, JavaScript ones when it ships no TypeScript; else None), and the names
    it depends on (whether taken or not: a JavaScript package's dependencies may be TypeScript ones)."""
    import urllib.error
    import urllib.parse
    import urllib.request

    try:
        url = f"{NPM_REGISTRY}/{urllib.parse.quote(name, safe='@')}/latest"
        meta = json.loads(urllib.request.urlopen(url, timeout=60).read())
    except (urllib.error.URLError, TimeoutError, ValueError):
        return None, []
    depends = sorted({*(meta.get("dependencies") or {}), *(meta.get("peerDependencies") or {}),
                      *(meta.get("devDependencies") or {})})
    licence = meta.get("license") or ""
    licence = licence.get("type", "") if isinstance(licence, dict) else str(licence)
    tarball = (meta.get("dist") or {}).get("tarball")
    too_large = (meta.get("dist") or {}).get("unpackedSize", 0) > NPM_MAX_UNPACKED
    if not tarball or not licence or not permissive(licence) or too_large:
        return None, depends
    entry = {"package": f"npm-{name}", "source": "npm", "language": "typescript", "version": meta["version"],
             "licence": licence, "tarball": tarball}
    archive = download_npm(entry, into)
    try:
        if archive is None:
            return None, depends
        if len(npm_sources(archive)) < NPM_MIN_FILES:
            if not javascript or len(npm_sources(archive, "javascript")) < NPM_MIN_FILES:
                return None, depends
            entry["language"] = "javascript"
    except (tarfile.TarError, EOFError, zlib.error) as error:
        print(f"skip {name}: its tarball does not unpack ({error})", flush=True)
        archive.unlink()  # downloaded again by a later run
        return None, depends
    entry["sha256"] = sha256_file(archive)
    return entry, depends


def download_npm(entry: dict, into: Path) -> Path | None:
    import urllib.error
    import urllib.request

    target = into / re.sub(r"[^A-Za-z0-9._-]", "_", f"{entry['package']}-{entry['version']}.tgz")
    if not target.is_file():
        try:
            data = urllib.request.urlopen(entry["tarball"], timeout=120).read()
        except (urllib.error.URLError, TimeoutError):
            return None
        partial = target.with_name(target.name + ".part")  # a run cut short leaves no truncated archive
        partial.write_bytes(data)
        partial.replace(target)
    return target


def select_npm(out: Path, count: int, manifest: Path = MANIFEST, javascript: bool = False) -> None:
    """Append `count` npm packages to the manifest, each as npm's latest version, kept when its
    licence is permissive, its tarball unpacks to at most NPM_MAX_UNPACKED bytes and ships at least
    NPM_MIN_FILES TypeScript sources (with `javascript`, or as many JavaScript ones, unbundled and
    unminified, when it ships no TypeScript and Debian's node-* package of it is not in the manifest).
    Candidates: the dependencies (run-time, peer and development) of
    every package looked at first (TypeScript packages depend on TypeScript packages), then Debian's
    node-* names, each in the order of a hash of the name. Earlier entries stay as they are, so the
    pairs they gave are mined again unchanged; the manifest is written after each group of candidates."""
    from concurrent.futures import ThreadPoolExecutor

    archives = out / "work" / "archives"
    archives.mkdir(parents=True, exist_ok=True)
    data = json.loads(manifest.read_text())
    seen = {e["package"].removeprefix("npm-") for e in data["packages"] if e["source"] == "npm"}
    if javascript:  # Debian's packaging of a project already gives its JavaScript
        seen |= {e["package"].removeprefix("node-") for e in data["packages"] if e["package"].startswith("node-")}

    def wanted(name: str) -> bool:
        return name not in seen and not npm_excluded(name)

    debian = [n.removeprefix("node-") for n in candidates("javascript")]
    depends: list[str] = []
    chosen: list[dict] = []
    with ThreadPoolExecutor(NPM_THREADS) as pool:  # network-bound: the registry answers in parallel
        taken = sorted(e["package"].removeprefix("npm-") for e in data["packages"] if e["source"] == "npm")
        for _, needs in pool.map(lambda n: npm_candidate(n, archives), taken):  # a run continued
            depends += sorted({n for n in needs if wanted(n) and n not in depends}, key=stable_hash)
        while len(chosen) < count and (depends or debian):
            group: list[str] = []
            for queue in (depends, debian):
                while queue and len(group) < 2 * NPM_THREADS:
                    name = queue.pop(0)
                    if wanted(name):
                        seen.add(name)
                        group.append(name)
            found: list[str] = []
            for entry, needs in pool.map(lambda n: npm_candidate(n, archives, javascript), group):
                found += needs
                if entry and len(chosen) < count:
                    chosen.append(entry)
                    print(f"take {entry['package']} {entry['version']} ({entry['language']}, {entry['licence']})",
                          flush=True)
            depends += sorted({n for n in found if wanted(n)}, key=stable_hash)
            # written after each group: a run cut short keeps what it took, and is continued from it
            manifest.write_text(json.dumps({**data, "packages": data["packages"] + chosen}, indent=1) + "\n")
    print(f"{len(chosen)} npm packages added to {manifest}")


def source_candidate(package: debian_source.SourcePackage, language: str, archives: Path) -> dict | None:
    """The manifest entry of a Debian source package when its licences are all permissive and its
    upstream tarball holds enough of the language's files (else None)."""
    name, sha, size = package.upstream
    if size > SOURCE_MAX_BYTES:
        return None
    try:
        licences = licences_of(debian_source.copyright_text(package, archives))
        if not licences or not all(permissive(x) for x in licences):
            return None
        files = source_tarball_files(debian_source.fetch_file(package.directory, package.upstream, archives), language)
    except (OSError, ValueError, tarfile.TarError, EOFError, zlib.error) as error:
        print(f"skip {package.name}: {error}", flush=True)
        return None
    if len(files) < SOURCE_MIN_FILES:
        return None
    return {"package": package.name, "source": "debian-source", "language": language,
            "version": package.version, "licence": " / ".join(sorted(set(licences))), "sha256": sha,
            "file": name, "directory": package.directory}


def select_source(out: Path, counts: dict[str, int], manifest: Path = MANIFEST) -> None:
    """Append Debian source packages to the manifest: `counts[language]` of each language of
    SOURCE_FAMILIES, in the order of a hash of their names. A package is a candidate when it builds a
    library package of the language (`lib*-java`, `lib*-dev` and none of the others), is not
    excluded by name, and its upstream tarball is at most SOURCE_MAX_BYTES; it is taken when every
    licence debian/copyright names for its files is permissive and the tarball holds at least
    SOURCE_MIN_FILES of the language's files. The manifest is written after each group."""
    from concurrent.futures import ThreadPoolExecutor

    archives = out / "work" / "archives"
    index = debian_source.source_index(out / "work")
    data = json.loads(manifest.read_text())
    taken = {e["package"] for e in data["packages"]}
    chosen: list[dict] = []
    java = SOURCE_FAMILIES["java"][0]
    with ThreadPoolExecutor(SOURCE_THREADS) as pool:  # network-bound
        for language, count in counts.items():
            pattern = SOURCE_FAMILIES[language][0]
            names = sorted((p.name for p in index.values()
                            if any(pattern.match(b) for b in p.binaries)
                            and (language == "java" or not any(java.match(b) for b in p.binaries))
                            and p.name not in taken and not SOURCE_EXCLUDED.match(p.name)), key=stable_hash)
            kept = 0
            for start in range(0, len(names), 2 * SOURCE_THREADS):
                if kept >= count:
                    break
                group = names[start:start + 2 * SOURCE_THREADS]
                for entry in pool.map(lambda n: source_candidate(index[n], language, archives), group):
                    if entry and kept < count:
                        chosen.append(entry)
                        kept += 1
                        print(f"take {entry['package']} {entry['version']} ({language}, {entry['licence']})", flush=True)
                manifest.write_text(json.dumps({**data, "packages": data["packages"] + chosen}, indent=1) + "\n")
            print(f"{language}: {kept} source packages", flush=True)
    print(f"{len(chosen)} source packages added to {manifest}")


def download_sdist(spec: str, into: Path) -> Path:
    """The sdist of `spec` from PyPI's simple index (pip would build it to read its metadata)."""
    import urllib.request

    name, version = spec.split("==")
    project = re.sub(r"[-_.]+", "-", name.lower())
    page = urllib.request.urlopen(f"https://pypi.org/simple/{project}/", timeout=60).read().decode()
    stem = re.sub(r"[-_.]+", "[-_.]", name.lower())
    for url in re.findall(r'href="([^"]+)"', page):
        filename = url.split("#")[0].rsplit("/", 1)[-1]
        if re.match(rf"(?i){stem}-{re.escape(version)}\.(tar\.gz|zip)$", filename):
            target = into / filename
            if not target.is_file():
                target.write_bytes(urllib.request.urlopen(url, timeout=120).read())
            return target
    raise RuntimeError(f"PyPI has no sdist of {spec}")


# -- mining ------------------------------------------------------------------------------------------

_PY_DOCSTRING = re.compile(r'^[ \t]*[rRuU]{0,2}("""|\'\'\')(?:.|\n)*?\1[ \t]*(?:\n|$)', re.M)
_PY_SHORT_DOCSTRING = re.compile(r'(:[ \t]*\n[ \t]*)[rRuU]{0,2}("|\')[^\n]*?\2[ \t]*\n')
_DOC_COMMENT_LINE = re.compile(r"^[ \t]*//[/!](?!/).*(?:\n|$)", re.M)
_DOC_COMMENT_BLOCK = re.compile(r"[ \t]*/\*[*!](?!/)(?:.|\n)*?\*/[ \t]*\n?")


def without_docs(unit: Unit) -> Unit:
    """The unit as it would be in code without docs: no doc, and no docstrings or doc comments in its code."""
    code = unit.code
    if unit.language == "python":
        code = _PY_SHORT_DOCSTRING.sub(r"\1", _PY_DOCSTRING.sub("", code))
    else:
        code = _DOC_COMMENT_BLOCK.sub("", _DOC_COMMENT_LINE.sub("", code))
    return unit._replace(doc="", code=code)


def normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def code_key(code: str) -> str | None:
    """What two copies of a unit share however they are indented; None for units too short to tell."""
    squeezed = re.sub(r"\s+", "", code)
    return hashlib.sha1(squeezed.encode()).hexdigest() if len(squeezed) >= 80 else None


def units_of(extractor: Extractor, files: list[tuple[str, str]], prefix: str) -> list[Unit]:
    out = []
    for _, result in extractor.extract((path, f"{prefix}/{path}", text) for path, text in files):
        if result is not None and result.failure is None:
            out.extend(e.unit for e in result.units if not e.lexical_only)
    return out


# The standard libraries whose code and docs no pair may repeat, besides Python's (this interpreter's
# own), C's (glibc's source package) and Node's (nodejs' source package: lib/ and @types/node):
# (Debian package, where the sources lie in it, their suffixes)
STDLIBS = (
    ("golang-1.19-src", "usr/share/go-1.19/src", (".go",)),
    ("rust-src", "usr/lib/rustlib/src/rust/library", (".rs",)),
    ("openjdk-17-source", "usr/lib/jvm/openjdk-17/lib/src.zip", (".java",)),
)


def stdlib_files(work: Path, label: str) -> list[tuple[str, str]]:
    if label == "python":
        root = Path(sysconfig.get_paths()["stdlib"])
        return [(path.relative_to(root).as_posix(), path.read_text(errors="replace"))
                for path in sorted(root.rglob("*.py")) if "site-packages" not in path.parts and path.is_file()]
    if label == "glibc":
        index = debian_source.source_index(work)
        tarball = debian_source.fetch_file(index["glibc"].directory, index["glibc"].upstream, work)
        return debian_source.tar_sources(tarball, lambda rel: rel.endswith((".c", ".h")))
    if label == "nodejs":  # Node's own modules (lib/) and their documented declarations (@types/node)
        package = debian_source.source_index(work)["nodejs"]
        tarball = debian_source.fetch_file(package.directory, package.upstream, work)
        files = debian_source.tar_sources(tarball,
                                          lambda rel: rel.startswith("lib/") and rel.endswith((".js", ".mjs")))
        for types in (f for f in package.files if ".orig-types-node." in f[0]):
            tarball = debian_source.fetch_file(package.directory, types, work)
            files += [(f"types-node/{rel}", text)
                      for rel, text in debian_source.tar_sources(tarball, lambda rel: rel.endswith(".d.ts"))]
        return files
    _, inner, suffixes = next(s for s in STDLIBS if s[0] == label)
    run(["apt-get", "download", "-q", label], work)
    deb = sorted(work.glob(f"{label}_*.deb"))[0]
    run(["dpkg-deb", "-x", str(deb), str(work / label)], work)
    root = work / label / inner
    if root.suffix == ".zip":
        with zipfile.ZipFile(root) as zf:
            return [(name, zf.read(name).decode(errors="replace")) for name in sorted(zf.namelist())
                    if name.endswith(suffixes)]
    return [(path.relative_to(root).as_posix(), path.read_text(errors="replace"))
            for path in sorted(root.rglob("*")) if path.is_file() and path.suffix in suffixes]


def stdlib_fingerprints(work: Path, extractor: Extractor) -> tuple[set[str], set[str]]:
    """Descriptions and code keys of every documented unit in the standard libraries of Python, Go,
    Rust, Java, C and Node (each cached in work/stdlib/)."""
    descriptions: set[str] = set()
    code: set[str] = set()
    (work / "stdlib").mkdir(parents=True, exist_ok=True)
    for label in ("python", *(s[0] for s in STDLIBS), "glibc", "nodejs"):
        cache = work / "stdlib" / f"{label}.json"
        if not cache.is_file():
            files = stdlib_files(work, label)
            units = units_of(extractor, files, label)
            keys = {key for key in (code_key(without_docs(u).code) for u in units) if key}
            sentences = {normal(x) for x in (description(u) for u in units if u.doc.strip()) if x}
            cache.write_text(json.dumps({"files": len(files), "units": len(units),
                                         "descriptions": sorted(sentences), "code": sorted(keys)}))
        data = json.loads(cache.read_text())
        descriptions.update(data["descriptions"])
        code.update(data["code"])
        print(f"standard library {label}: {data['files']} files, {data['units']} units", flush=True)
    return descriptions, code


_LEADING_NAME = re.compile(r"^[\W_]*(?:[A-Za-z_][\w.:]*\s*(?:\([^)]*\))?\s*[:\-]+\s+)?")


def description(unit: Unit) -> str | None:
    """The doc's first sentence, reduced as the code-only dev sets reduce theirs, without a leading
    `name() :` or decoration (`-*`, `:`) that C comments often start with."""
    sentence = first_sentence([unit.doc], unit.name, unit.language)
    if sentence is None:
        return None
    cleaned = _LEADING_NAME.sub("", sentence, count=1).strip()
    return cleaned if len(cleaned.split()) >= 4 else None


def document_text(unit: Unit, form: str, count_tokens) -> str:
    if form == "summary-with-doc":
        return chunks.summary(unit) or ""
    bare = without_docs(unit)
    if form == "summary-no-doc":
        return chunks.summary(bare) or ""
    return chunks.embedding_texts(bare, count_tokens, max_windows=1, with_doc=False)[0]


def package_pairs(extractor: Extractor, entry: dict, files: list[tuple[str, str]], count_tokens) -> list[dict]:
    rng = random.Random(stable_hash(entry["package"] + entry["version"]))
    prefix = entry["package"]
    candidates_ = []
    for unit in units_of(extractor, files, prefix):
        if unit.kind not in PAIR_KINDS or not unit.doc.strip() or unit.name.startswith("_") and unit.name != "__init__":
            continue
        query = description(unit)
        if query is None or len(query) > 300:
            continue
        candidates_.append((query, unit))
    rng.shuffle(candidates_)
    pairs = []
    for query, unit in candidates_[:MAX_PAIRS]:
        draw, form = rng.random(), DOC_FORMS[-1][0]
        for name, share in DOC_FORMS:
            if draw < share:
                form = name
                break
            draw -= share
        pairs.append({"query": query, "document": document_text(unit, form, count_tokens), "form": form,
                      "language": unit.language, "package": entry["package"],
                      "code_key": code_key(without_docs(unit).code), "unit": f"{unit.path}:{unit.qualified_name}"})
    return pairs


def download_all(packages: list[dict], into: Path) -> dict[str, Path]:
    """Every package's archive, exactly the manifest's version, checked by sha256 (kept in `into`)."""
    into.mkdir(parents=True, exist_ok=True)
    debian = [e for e in packages if e["source"] == "debian"]
    wanted = [f"{e['package']}={e['version']}" for e in debian if not list(into.glob(f"{e['package']}_*.deb"))]
    for start in range(0, len(wanted), 50):
        run(["apt-get", "download", "-q", *wanted[start:start + 50]], into)
    out = {}
    for entry in packages:
        if entry["source"] == "debian":
            archive = sorted(into.glob(f"{entry['package']}_*.deb"))[0]
        elif entry["source"] == "npm":
            archive = download_npm(entry, into)
            if archive is None:
                raise RuntimeError(f"{entry['package']}: cannot download {entry['tarball']}")
        elif entry["source"] == "debian-source":
            archive = debian_source.fetch_file(entry["directory"], (entry["file"], entry["sha256"], 0), into)
        else:
            archive = download_sdist(f"{entry['package']}=={entry['version']}", into)
        if sha256_file(archive) != entry["sha256"]:
            raise RuntimeError(f"{archive.name}: sha256 differs from the manifest's")
        out[entry["package"]] = archive
    return out


def package_files(entry: dict, archive: Path, work: Path) -> list[tuple[str, str]]:
    """(path, text) of the source files a manifest entry's archive holds."""
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        if entry["source"] == "debian":
            return debian_sources(archive, entry["language"], Path(tmp))[0]
        if entry["source"] == "npm":
            return npm_sources(archive, entry["language"])
        if entry["source"] == "debian-source":
            return source_tarball_files(archive, entry["language"])
        return sdist_sources(archive)


def mine(out: Path, manifest_path: Path = MANIFEST, resume: bool = False) -> None:
    """Mine every package of the manifest in its order (a pair whose description or code an earlier
    package gave is dropped). With `resume`, only the packages OUT/report.json does not name yet: the
    pairs already written count as seen, so entries appended to the manifest add what a full run
    would add (up to pairs that `decontaminate` has removed since)."""
    manifest = json.loads(manifest_path.read_text())
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    extractor = Extractor(1_000_000).__enter__()
    descriptions, stdlib_code = stdlib_fingerprints(work, extractor)
    tokenizer = load_tokenizer(REPO / "models" / "tokenizer.json")

    def count_tokens(texts):
        return [len(e.ids) for e in tokenizer.encode_batch(list(texts))]

    train, val, report = [], [], []
    seen_queries: set[str] = set()
    seen_code: set[str] = set()
    done: set[str] = set()
    if resume and (out / "report.json").is_file():
        report = json.loads((out / "report.json").read_text())
        done = {r["package"] for r in report if "package" in r}
        train, val = ([json.loads(line) for line in open(out / f"{name}.jsonl")] for name in ("train", "val"))
        entries = {e["package"]: e for e in manifest["packages"]}
        gone = {p["package"] for p in train + val if p["package"] in entries and excluded(entries[p["package"]])}
        if gone:  # the exclusions grew since these pairs were mined
            train, val = ([p for p in rows if p["package"] not in gone] for rows in (train, val))
            report = [{**r, "status": "excluded by name", "pairs": 0} if r.get("package") in gone else r
                      for r in report]
            print(f"dropped the pairs of {', '.join(sorted(gone))}: excluded by name", flush=True)
        in_stdlib = sum(1 for p in train + val if normal(p["query"]) in descriptions or p["code_key"] in stdlib_code)
        if in_stdlib:  # the standard libraries checked grew since these pairs were mined
            train, val = ([p for p in rows if normal(p["query"]) not in descriptions
                           and p["code_key"] not in stdlib_code] for rows in (train, val))
            print(f"dropped {in_stdlib} pairs that a standard library added since repeats", flush=True)
        seen_queries = {normal(p["query"]) for p in train + val}
        seen_code = {p["code_key"] for p in train + val if p["code_key"]}
    archives = download_all([e for e in manifest["packages"] if e["package"] not in done], work / "archives")
    for entry in manifest["packages"]:
        if entry["package"] in done:
            continue
        if excluded(entry):  # the rule grew after the package was selected
            report.append({"package": entry["package"], "status": "excluded by name"})
            print(f"{entry['package']:48} excluded by name", flush=True)
            continue
        files = package_files(entry, archives[entry["package"]], work)
        pairs = package_pairs(extractor, entry, files, count_tokens)
        in_stdlib = [p for p in pairs if normal(p["query"]) in descriptions or p["code_key"] in stdlib_code]
        status = "kept"
        if len(in_stdlib) >= 5 and len(in_stdlib) >= STDLIB_SHARE_DROP * len(pairs):
            status, pairs = "dropped: copies standard-library code", []
        pairs = [p for p in pairs if p not in in_stdlib]
        unique = []
        for p in pairs:
            q = normal(p["query"])
            if q in seen_queries or (p["code_key"] and p["code_key"] in seen_code):
                continue
            seen_queries.add(q)
            if p["code_key"]:
                seen_code.add(p["code_key"])
            unique.append(p)
        held_out = stable_hash(entry["package"]) % HOLD_OUT_SHARE == 0
        (val if held_out else train).extend(unique)
        report.append({"package": entry["package"], "files": len(files), "pairs": len(unique),
                       "in_stdlib": len(in_stdlib), "status": status, "held_out": held_out})
        print(f"{entry['package']:48} {len(files):4d} files {len(unique):4d} pairs "
              f"({len(in_stdlib)} in a standard library) {status}{' [validation]' if held_out else ''}", flush=True)
    extractor.close()
    for name, rows in (("train", train), ("val", val)):
        with open(out / f"{name}.jsonl", "w") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    by_language = Counter(p["language"] for p in train)
    by_form = Counter(p["form"] for p in train)
    print(f"train {len(train)} pairs {dict(by_language)} {dict(by_form)}; validation {len(val)} pairs")


# -- related pairs -----------------------------------------------------------------------------------

# A sentence that points its reader to another symbol, and the ways docs name one
_RELATED_CUE = re.compile(r"\b(see(\s+also)?|like|same as|similar to|equivalent to|inverse of|counterpart of|"
                          r"opposite of|alias (of|for)|shorthand for|variant of|version of)\b", re.I)
_SYMBOL_REFS = (
    re.compile(r"\{@link(?:code|plain)?\s+([\w./#:$]+)"),  # JSDoc, TSDoc
    re.compile(r":(?:py:)?(?:func|meth|class|attr|obj|data|exc)`~?([\w.]+)(?:\(\))?`"),  # Sphinx roles
    re.compile(r"\[`([\w:.]+)(?:\(\))?`\]"),  # rustdoc intra-doc links
    re.compile(r"(?<![\w`])`([A-Za-z_][\w:.]*)(?:\(\))?`(?!`)"),  # a name in backticks
    re.compile(r"\b_\.(\w+)"),  # lodash-style
    re.compile(r"\[([A-Z]\w*(?:\.\w+)?)\]"),  # Go doc links
)


def linked_names(doc: str) -> list[str]:
    """The symbols a doc points its reader to: `@see` tags, a "See Also" section's entries, and the
    symbols named in a sentence that says "see", "like", "same as", "inverse of" ... Last path
    segment only. A wider reading than the dev sets' (tests/benchmarks/code_only_sets.py's
    linked_names: JSDoc and rustdoc links in raw comments, fewer cue words), which stays as it is
    so that their pairs do not change."""
    found: list[str] = []
    for tag in re.findall(r"@see\s+((?:\{@|[^@\n])*)", doc):
        refs = [m for pattern in _SYMBOL_REFS for m in pattern.findall(tag)]
        found += refs or re.findall(r"^\s*([\w.$#]+)", tag)
    section = re.search(r"^\s*See Also\s*\n\s*-{4,}\s*\n((?:[^\n]+\n?)+)", doc, re.M)
    if section:
        found += re.findall(r"^\s*[:\w`~]*?`?~?([A-Za-z_][\w.]*)`?\s*(?::|,|$)", section.group(1), re.M)
    prose = re.split(r"(?<!\{)@\w+", doc)[0]
    for sentence in re.split(r"(?<=[.!?])\s+|\n\s*\n", prose):
        if _RELATED_CUE.search(sentence):
            for pattern in _SYMBOL_REFS:
                found += pattern.findall(sentence)
    names: list[str] = []
    for ref in found:
        last = re.split(r"[./#:]+", ref.strip("()"))[-1].removesuffix("()")
        if re.fullmatch(r"[A-Za-z_$][\w$]*", last) and len(last) > 1 and last not in names:
            names.append(last)
    return names


RELATED_FORMS = (("summary-no-doc", 0.7), ("summary-with-doc", 0.3))


def package_related(extractor: Extractor, entry: dict, files: list[tuple[str, str]]) -> list[dict]:
    """(unit, the unit its doc points to) pairs of one package, each side as Patina embeds it: its
    summary, mostly with the docs blanked. A name resolves when one unit of the package has it (one
    of the same file when several do)."""
    rng = random.Random(stable_hash("related " + entry["package"] + entry["version"]))
    units = [u for u in units_of(extractor, files, entry["package"]) if u.kind in PAIR_KINDS]
    by_name: dict[str, list[Unit]] = {}
    for unit in units:
        by_name.setdefault(unit.name, []).append(unit)
    pairs, seen = [], set()
    for unit in units:
        if not unit.doc.strip():
            continue
        for name in linked_names(unit.doc):
            options = by_name.get(name, [])
            if len(options) > 1:
                options = [o for o in options if o.path == unit.path]
            if len(options) != 1 or options[0] is unit or options[0].name == unit.name:
                continue
            other = options[0]
            key = tuple(sorted((unit.key, other.key)))
            if key in seen:
                continue
            seen.add(key)
            texts = []
            for side in (unit, other):
                form = RELATED_FORMS[0][0] if rng.random() < RELATED_FORMS[0][1] else RELATED_FORMS[1][0]
                texts.append(chunks.summary(without_docs(side) if form == "summary-no-doc" else side) or "")
            if all(texts):
                pairs.append({"first": texts[0], "second": texts[1], "package": entry["package"],
                              "language": unit.language, "link": name,
                              "code_keys": [code_key(without_docs(u).code) for u in (unit, other)],
                              "units": [f"{u.path}:{u.qualified_name}" for u in (unit, other)]})
    return pairs


def at_most(pairs: list[dict], count: int) -> list[dict]:
    """`count` of the pairs, chosen by a hash of their units (the same every run), in their mined order."""
    if len(pairs) <= count:
        return pairs
    chosen = {id(p) for p in sorted(pairs, key=lambda p: stable_hash(" ".join(p["units"])))[:count]}
    return [p for p in pairs if id(p) in chosen]


def dropped_packages(report: list[dict]) -> set[str]:
    """The packages `decontaminate` dropped (their pairs repeat a development set's)."""
    return {name for r in report for name in r.get("packages_dropped", ())}


def mine_related(out: Path, manifest_path: Path = MANIFEST, sets: list[Path] = ()) -> None:
    """Related pairs from the packages `pairs` kept and `decontaminate` did not drop (OUT/report.json),
    at most MAX_RELATED a package, written to OUT/related.jsonl and,
    from the held-out packages, OUT/related-val.jsonl. A pair whose either side's code occurs in a
    standard library or a development set (`sets`) is dropped."""
    manifest = json.loads(manifest_path.read_text())
    rows_of_report = json.loads((out / "report.json").read_text())
    report = {r["package"]: r for r in rows_of_report if "package" in r}
    dropped = dropped_packages(rows_of_report)
    work = out / "work"
    extractor = Extractor(1_000_000).__enter__()
    _, stdlib_code = stdlib_fingerprints(work, extractor)
    dev_code = set_code(extractor, sets)
    kept = [e for e in manifest["packages"]
            if report.get(e["package"], {}).get("status") == "kept" and not excluded(e)
            and e["package"] not in dropped]
    archives = download_all(kept, work / "archives")
    rows: dict[str, list[dict]] = {"train": [], "val": []}
    for entry in kept:
        pairs = package_related(extractor, entry, package_files(entry, archives[entry["package"]], work))
        pairs = [p for p in pairs if not any(k and (k in stdlib_code or k in dev_code) for k in p["code_keys"])]
        pairs = at_most(pairs, MAX_RELATED)
        rows["val" if report[entry["package"]]["held_out"] else "train"].extend(pairs)
        if pairs:
            print(f"{entry['package']:48} {len(pairs):4d} related pairs", flush=True)
    extractor.close()
    for name, path in (("train", "related.jsonl"), ("val", "related-val.jsonl")):
        with open(out / path, "w") as fh:
            for row in rows[name]:
                fh.write(json.dumps(row) + "\n")
    print(f"related: {len(rows['train'])} training pairs "
          f"{dict(Counter(p['language'] for p in rows['train']))}, {len(rows['val'])} validation pairs")


def set_code(extractor: Extractor, sets: list[Path]) -> set[str]:
    """The code keys (code_key of the code, docs removed) of every unit in the development sets' corpora."""
    keys: set[str] = set()
    for folder in sets:
        corpus = folder / "corpus"
        files = [(p.relative_to(corpus).as_posix(), p.read_text(errors="replace"))
                 for p in sorted(corpus.rglob("*")) if p.is_file() and language_of(p.name) != "text"]
        keys |= {key for unit in units_of(extractor, files, folder.name) if (key := code_key(without_docs(unit).code))}
    return keys


NEAR_QUERY = 0.6  # word overlap (Jaccard) at which a description counts as a copy of a set's query


def word_set(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


class NearDuplicates:
    """Texts whose words overlap one of `texts`' by NEAR_QUERY or more: docs copied with a word
    changed (lodash's copied into other packages, say)."""

    def __init__(self, texts) -> None:
        self.words = [word_set(t) for t in texts]
        self.holding: dict[str, list[int]] = {}
        for i, words in enumerate(self.words):
            for word in words:
                self.holding.setdefault(word, []).append(i)

    def has(self, text: str) -> bool:
        words = word_set(text)
        shared = Counter(i for word in words for i in self.holding.get(word, ()))
        return any(n >= NEAR_QUERY * len(words | self.words[i]) for i, n in shared.items())


def decontaminate(out: Path, sets: list[Path]) -> None:
    """Drop every pair whose description is a development set's query or a near copy of one
    (NearDuplicates) or whose code is a set's unit's code (docs removed), and every package with many
    such pairs: a package may bundle a set's code under another name. Rewrites OUT/train.jsonl and
    OUT/val.jsonl; the report says what went."""
    queries: set[str] = set()
    for folder in sets:
        queries |= {normal(json.loads(line)["query"]) for line in (folder / "queries.jsonl").open() if line.strip()}
    near_query = NearDuplicates(queries)
    with Extractor(1_000_000) as extractor:
        code = set_code(extractor, sets)
    rows = {name: [json.loads(line) for line in (out / f"{name}.jsonl").open()] for name in ("train", "val")}

    in_a_set = {name: [normal(r["query"]) in queries or bool(r["code_key"] and r["code_key"] in code)
                       or near_query.has(r["query"]) for r in items] for name, items in rows.items()}
    per_package: Counter = Counter()
    hits: Counter = Counter()
    for name, items in rows.items():
        for row, found in zip(items, in_a_set[name]):
            per_package[row["package"]] += 1
            hits[row["package"]] += found
    hits = +hits  # packages with no such pair left out
    dropped = {p for p, n in hits.items() if n >= 5 and n >= STDLIB_SHARE_DROP * per_package[p]}
    for name, items in rows.items():
        kept = [r for r, found in zip(items, in_a_set[name]) if r["package"] not in dropped and not found]
        with open(out / f"{name}.jsonl", "w") as fh:
            for row in kept:
                fh.write(json.dumps(row) + "\n")
        print(f"{name}: {len(items)} -> {len(kept)} pairs")
    report = json.loads((out / "report.json").read_text())
    report.append({"decontaminated_against": [str(s) for s in sets], "pairs_in_a_set": dict(hits),
                   "packages_dropped": sorted(dropped)})
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    for package, n in hits.most_common():
        print(f"{package:48} {n:4d} of {per_package[package]} pairs in a development set"
              f"{' (package dropped)' if package in dropped else ''}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["select", "select-npm", "select-source", "pairs", "related", "decontaminate"])
    ap.add_argument("out")
    ap.add_argument("sets", nargs="*", type=Path, help="development set folders (decontaminate, related)")
    ap.add_argument("--packages", nargs="+", default=list(f"{k}={v}" for k, v in PACKAGES_PER_LANGUAGE.items()),
                    metavar="LANGUAGE=N", help="how many Debian packages to take per language (select)")
    ap.add_argument("--manifest", type=Path, default=MANIFEST, help="the manifest to write (select) or read (pairs)")
    ap.add_argument("--npm", type=int, default=NPM_PACKAGES, metavar="N", help="npm packages to add (select-npm)")
    ap.add_argument("--npm-javascript", action="store_true",
                    help="select-npm: also take packages that ship JavaScript sources and no TypeScript")
    ap.add_argument("--resume", action="store_true",
                    help="pairs: mine only the packages OUT/report.json does not name yet, keeping OUT's pairs")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.step == "decontaminate":
        decontaminate(out, args.sets)
    elif args.step == "select":
        counts = dict(PACKAGES_PER_LANGUAGE)
        counts.update({k: int(v) for k, v in (item.split("=") for item in args.packages)})
        select(out, counts, args.manifest)
    elif args.step == "related":
        mine_related(out, args.manifest, args.sets)
    elif args.step == "select-source":
        counts = {k: int(v) for k, v in (item.split("=") for item in args.packages) if k in SOURCE_FAMILIES}
        if not counts:
            ap.error(f"select-source: name a language of {sorted(SOURCE_FAMILIES)}, e.g. --packages java=150 c=150")
        select_source(out, counts, args.manifest)
    elif args.step == "select-npm":
        select_npm(out, args.npm, args.manifest, args.npm_javascript)
    else:
        mine(out, args.manifest, args.resume)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
