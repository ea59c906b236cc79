"""Scale benchmark on the Linux kernel's source (Debian's linux-source-6.1): >= 100,000 units.

    python tests/benchmarks/scale.py [--work /tmp/patina-scale] [--dirs kernel mm fs net] [--warm-only]

Downloads linux-source-6.1 with `apt-get download` (run `apt-get update` once), unpacks the chosen
top-level folders and indexes them through the real server (stdio), as an editor would:
files, units, cold index time and units/s, peak RSS of the server, store size, warm start (nothing
changed; median of three starts), warm start after touching 1% of the files, search p50/p99 idle
(once the server's CPU is idle: it writes its graph and postings right after ready) and during
indexing, related p50. `--warm-only` keeps the store of an earlier run and measures the starts and
idle latencies again.
Run it with two sets of folders (e.g. `--dirs kernel mm` and `--dirs kernel mm fs`) to see how time
grows with units.
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO.parent / "shared" / "eval"))
from lspclient import LspClient  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sysinfo import cpu_line  # noqa: E402

QUERIES = ["allocate a page of memory", "free an inode", "parse mount options", "send a tcp packet",
           "schedule the next task", "handle a page fault", "lock a mutex", "read a block from disk",
           "copy data from user space", "register a network device", "compute a checksum",
           "wake up waiting processes", "release a reference count", "walk the page tables",
           "initialise the scheduler", "retransmit lost segments"]


def fetch(work: Path, dirs: list[str]) -> Path:
    corpus = work / ("corpus-" + "-".join(dirs))
    if corpus.is_dir():
        return corpus
    work.mkdir(parents=True, exist_ok=True)
    debs = glob.glob(str(work / "linux-source-6.1_*.deb"))
    if not debs:
        subprocess.run(["apt-get", "download", "linux-source-6.1"], cwd=work, check=True)
        debs = glob.glob(str(work / "linux-source-6.1_*.deb"))
    unpacked = work / "deb"
    if not unpacked.is_dir():
        subprocess.run(["dpkg", "-x", debs[0], str(unpacked)], check=True)
    [tarball] = glob.glob(str(unpacked / "usr/src/linux-source-6.1*.tar.xz"))
    corpus.mkdir()
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers()
                   if len(Path(m.name).parts) > 1 and Path(m.name).parts[1] in dirs]
        tar.extractall(corpus, members=members, filter="data")
    return corpus


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, limit_s: float = 300) -> None:
    """Until the process has used under 5% of a core for two half-seconds in a row."""
    quiet, last, start = 0, cpu_seconds(pid), time.monotonic()
    while quiet < 2 and time.monotonic() - start < limit_s:
        time.sleep(0.5)
        now = cpu_seconds(pid)
        quiet = quiet + 1 if now - last < 0.025 else 0
        last = now


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


def run(corpus: Path, cache: Path, during: list[float] | None = None) -> tuple[LspClient, float, dict]:
    client = LspClient([sys.executable, "-m", "patina_lsp", "lsp", "--log-level", "warning"], cwd=str(corpus))
    t0 = time.monotonic()
    client.initialize(str(corpus), {"cacheDir": str(cache)})
    i = 0
    while True:
        status = client.request("patina/status", {}, timeout=60)
        if status["state"] == "ready":
            return client, time.monotonic() - t0, status
        if status["state"] == "error":
            raise RuntimeError(status)
        if during is not None:
            t = time.perf_counter()
            client.request("patina/search", {"query": QUERIES[i % len(QUERIES)], "limit": 10}, timeout=60)
            during.append((time.perf_counter() - t) * 1000)
            i += 1
        time.sleep(0.25)


def measure_idle(client: LspClient) -> tuple[list[float], list[float]]:
    """Search and related latencies (ms) of an idle server, one request at a time."""
    idle, related = [], []
    for q in QUERIES * 4:
        t = time.perf_counter()
        items = client.request("patina/search", {"query": q, "limit": 10})["items"]
        idle.append((time.perf_counter() - t) * 1000)
        if items:
            t = time.perf_counter()
            client.request("patina/related", {"textDocument": {"uri": items[0]["uri"]},
                                              "position": items[0]["selectionRange"]["start"], "limit": 10})
            related.append((time.perf_counter() - t) * 1000)
    return idle, related


def warm_starts(corpus: Path, cache: Path, times: int = 3) -> list[float]:
    out = []
    for _ in range(times):
        client, seconds, _ = run(corpus, cache)
        client.shutdown()
        out.append(seconds)
    return out


def touched_start(corpus: Path, cache: Path) -> tuple[float, int]:
    """Append a line to 1% of the files, then time the start that catches up with them."""
    files = sorted(p for p in corpus.rglob("*") if p.is_file())
    random.Random(1).shuffle(files)
    touched = files[: max(1, len(files) // 100)]
    for p in touched:
        with open(p, "a") as fh:
            fh.write("\n/* touched */\n")
    client, seconds, _ = run(corpus, cache)
    client.shutdown()
    return seconds, len(touched)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/patina-scale")
    ap.add_argument("--dirs", nargs="+", default=["kernel", "mm", "fs", "net"])
    ap.add_argument("--warm-only", action="store_true",
                    help="keep the store of an earlier run: measure warm starts and idle latency only")
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    work = Path(args.work)
    corpus = fetch(work, args.dirs)
    cache = work / f"cache-{corpus.name}"
    print(f"corpus            linux-source-6.1: {' '.join(args.dirs)}")

    if args.warm_only:
        warm = warm_starts(corpus, cache)
        client, _, status = run(corpus, cache)
        wait_idle(client.proc.pid)
        idle, related = measure_idle(client)
        client.shutdown()
        print(f"units             {status['units']:,} (store kept from an earlier run)")
    else:
        shutil.rmtree(cache, ignore_errors=True)
        during: list[float] = []
        client, cold_s, status = run(corpus, cache, during)
        wait_idle(client.proc.pid)  # the server writes its graph and postings right after ready
        peak = rss_mb(client.proc.pid)
        idle, related = measure_idle(client)
        client.shutdown()
        store_mb = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file()) / 1e6
        warm = warm_starts(corpus, cache)
        print(f"files             {status['files']:,}")
        print(f"units             {status['units']:,}")
        print(f"cold index        {cold_s:,.0f} s ({status['units'] / cold_s:,.0f} units/s)")
        print(f"peak RSS          {peak:,.0f} MB ({peak * 1e6 / max(1, status['units']) / 1024:.1f} KB per unit)")
        print(f"store on disk     {store_mb:,.0f} MB")
        print(f"search indexing   p50 {pct(during, .5):.1f} ms, p99 {pct(during, .99):.1f} ms ({len(during)} searches)")
    touched_s, touched = touched_start(corpus, cache)
    print(f"warm start        median {sorted(warm)[len(warm) // 2]:.2f} s of {', '.join(f'{w:.2f}' for w in warm)} s "
          f"(nothing changed; the first follows the previous run's writes)")
    print(f"warm, 1% touched  {touched_s:.2f} s ({touched} files changed)")
    print(f"search idle       p50 {pct(idle, .5):.1f} ms, p99 {pct(idle, .99):.1f} ms")
    print(f"related           p50 {pct(related, .5):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
