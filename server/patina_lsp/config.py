"""Server options: parsed once from initializationOptions / workspace configuration into a typed object.

An invalid value never stops the server: it is reported (one message per problem) and its
default is used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from patina_lsp.embedding.models import DEFAULT_CHOICE, choice_names
from patina_lsp.index.scan import DEFAULT_MAX_FILE_BYTES
from patina_lsp.index.workspace import DEFAULT_MAX_UNITS
from patina_lsp.protocol import short_repr

MODELS = choice_names()  # int8, fp32, code, code-fp32 (embedding/models.py)


DEFAULT_RESCAN_SECONDS = 60


@dataclass(frozen=True)
class Options:
    """Everything a client may configure (section `patina`)."""

    model: str = DEFAULT_CHOICE
    model_dir: str | None = None
    cache_dir: str | None = None
    exclude: tuple[str, ...] = ()
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    index_on_startup: bool = True
    max_units: int = DEFAULT_MAX_UNITS
    index_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    rescan_interval: int = DEFAULT_RESCAN_SECONDS  # seconds between checks of the disk (stat only); 0: never
    shared_cache: str | None = field(default_factory=lambda: os.environ.get("PATINA_SHARED_CACHE") or None)

    @property
    def index_settings(self) -> tuple:
        """The options whose change means the index must be rebuilt or re-walked."""
        return (self.model, self.model_dir, self.cache_dir, self.exclude, self.max_file_bytes, self.max_units)


def default_options() -> tuple[Options, list[str]]:
    """Defaults, with PATINA_MODEL as the default model."""
    problems = []
    model = os.environ.get("PATINA_MODEL", DEFAULT_CHOICE).strip().lower() or DEFAULT_CHOICE
    if model not in MODELS:
        problems.append(f"PATINA_MODEL={model!r} is not one of {', '.join(MODELS)}; using {DEFAULT_CHOICE}")
        model = DEFAULT_CHOICE
    return Options(model=model), problems


def _path(value: Any, name: str, problems: list[str]) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return os.path.expanduser(value)
    problems.append(f"patina.{name} must be a path (string), got {type(value).__name__}; using the default")
    return None


def _int(value: Any, name: str, low: int, high: int, default: int, problems: list[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value \
            or not low <= value <= high:
        problems.append(f"patina.{name} must be an integer from {low:,} to {high:,}, got {short_repr(value)}; "
                        f"using {default:,}")
        return default
    return int(value)


def parse_options(raw: Any, base: Options | None = None) -> tuple[Options, list[str]]:
    """Options from a client's settings object; returns them and the problems found (as user-facing text)."""
    options, problems = (base, []) if base is not None else default_options()
    if raw is None:
        return options, problems
    if not isinstance(raw, dict):
        return options, problems + [f"patina settings must be an object, got {type(raw).__name__}; using defaults"]
    known = {"model", "modelDir", "cacheDir", "exclude", "maxFileBytes", "indexOnStartup", "maxUnits",
             "indexThreads", "rescanInterval", "sharedCache"}
    client_side = {"server", "trace"}  # editor settings in the same section (how to start the server, tracing)
    unknown = sorted(k for k in raw if k not in known and k not in client_side)
    if unknown:
        problems.append(f"unknown patina setting(s) ignored: {', '.join(unknown)}")
    changes: dict[str, Any] = {}
    if "model" in raw and raw["model"] is not None:
        value = raw["model"]
        if isinstance(value, str) and value.strip().lower() in MODELS:
            changes["model"] = value.strip().lower()
        else:
            names = ", ".join(f'"{m}"' for m in MODELS)
            problems.append(f"patina.model must be one of {names}, got {short_repr(value)}; using {options.model}")
    if "modelDir" in raw:
        changes["model_dir"] = _path(raw["modelDir"], "modelDir", problems)
    if "cacheDir" in raw:
        changes["cache_dir"] = _path(raw["cacheDir"], "cacheDir", problems)
    if "exclude" in raw and raw["exclude"] is not None:
        value = raw["exclude"]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            bad = [v for v in value if ".." in v.split("/")]
            if bad:
                problems.append(f"patina.exclude patterns may not contain '..': {bad}; ignoring them")
            changes["exclude"] = tuple(v for v in value if v and v not in bad)
        else:
            problems.append(f"patina.exclude must be a list of glob strings, got {short_repr(value)}; using none")
    if "maxFileBytes" in raw and raw["maxFileBytes"] is not None:
        changes["max_file_bytes"] = _int(raw["maxFileBytes"], "maxFileBytes", 1, 1 << 31,
                                         DEFAULT_MAX_FILE_BYTES, problems)
    if "maxUnits" in raw and raw["maxUnits"] is not None:
        changes["max_units"] = _int(raw["maxUnits"], "maxUnits", 1, 100_000_000, DEFAULT_MAX_UNITS, problems)
    if "indexThreads" in raw and raw["indexThreads"] is not None:
        default_threads = os.cpu_count() or 1
        # 0: one per core (the editors' default for the setting)
        threads = _int(raw["indexThreads"], "indexThreads", 0, 256, default_threads, problems)
        changes["index_threads"] = threads or default_threads
    if "sharedCache" in raw:
        value = raw["sharedCache"]
        if value is None or value == "":
            changes["shared_cache"] = None
        elif isinstance(value, str) and value.startswith(("postgresql://", "postgres://")):
            changes["shared_cache"] = value
        else:
            problems.append("patina.sharedCache must be a PostgreSQL URL (postgresql://user@host/db), "
                            "got something else; no shared cache")
    if "rescanInterval" in raw and raw["rescanInterval"] is not None:
        changes["rescan_interval"] = _int(raw["rescanInterval"], "rescanInterval", 0, 86_400,
                                          DEFAULT_RESCAN_SECONDS, problems)
    if "indexOnStartup" in raw and raw["indexOnStartup"] is not None:
        if isinstance(raw["indexOnStartup"], bool):
            changes["index_on_startup"] = raw["indexOnStartup"]
        else:
            problems.append(f"patina.indexOnStartup must be true or false, got {short_repr(raw['indexOnStartup'])}; using true")
    return replace(options, **changes), problems
