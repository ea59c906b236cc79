"""Option parsing: valid values are taken, invalid ones reported with the default used."""

from __future__ import annotations

from patina_lsp.config import Options, parse_options


def test_valid_options():
    options, problems = parse_options({"model": "FP32", "exclude": ["vendor/"], "maxFileBytes": 5000,
                                       "indexOnStartup": False, "maxUnits": 10, "indexThreads": 1,
                                       "cacheDir": "~/c"})
    assert problems == []
    assert options.model == "fp32" and options.exclude == ("vendor/",) and options.max_file_bytes == 5000
    assert options.index_on_startup is False and options.max_units == 10 and options.index_threads == 1
    assert not options.cache_dir.startswith("~")


def test_invalid_values_fall_back_to_defaults_with_a_message():
    options, problems = parse_options({"model": "fp64", "maxFileBytes": -1, "exclude": "vendor", "bogus": 1,
                                       "indexOnStartup": "yes"})
    defaults = Options()
    assert options.model == defaults.model and options.max_file_bytes == defaults.max_file_bytes
    assert options.exclude == () and options.index_on_startup is True
    text = " | ".join(problems)
    for fragment in ("patina.model", "patina.maxFileBytes", "patina.exclude", "bogus", "patina.indexOnStartup"):
        assert fragment in text


def test_editor_side_settings_are_not_reported():
    # VS Code sends its whole `patina` section, including how it starts the server
    _, problems = parse_options({"server": {"command": []}, "trace": {"server": "off"}, "model": "int8"})
    assert problems == []


def test_dotdot_in_exclude_is_refused():
    options, problems = parse_options({"exclude": ["../secret", "build/"]})
    assert options.exclude == ("build/",) and "'..'" in problems[0]


def test_shared_cache_and_rescan_interval_are_checked():
    options, problems = parse_options({"sharedCache": "mysql://db/x", "rescanInterval": -5})
    assert options.shared_cache is None and options.rescan_interval == 60
    text = " | ".join(problems)
    assert "patina.sharedCache must be a PostgreSQL URL" in text and "rescanInterval" in text
    options, problems = parse_options({"sharedCache": "postgresql://patina@db/patina", "rescanInterval": 0})
    assert options.shared_cache == "postgresql://patina@db/patina" and options.rescan_interval == 0 and not problems


def test_the_editors_defaults_are_accepted_silently():
    """VS Code sends its whole `patina` section with the settings' defaults: none of them is a problem."""
    import json
    from pathlib import Path

    manifest = json.loads((Path(__file__).parents[1] / "editors" / "vscode" / "package.json").read_text())
    section: dict = {}  # as VS Code sends it: "patina.server.command" is section["server"]["command"]
    for key, spec in manifest["contributes"]["configuration"]["properties"].items():
        *parents, last = key.removeprefix("patina.").split(".")
        node = section
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = spec["default"]
    options, problems = parse_options(section)
    assert problems == [], problems
    assert options.index_threads >= 1  # 0: one per core


def test_every_model_choice_is_offered_by_the_vs_code_setting_and_accepted_by_the_server():
    import json
    from pathlib import Path

    from patina_lsp.embedding.models import choice_names

    manifest = json.loads((Path(__file__).parents[1] / "editors/vscode/package.json").read_text())
    setting = manifest["contributes"]["configuration"]["properties"]["patina.model"]
    assert tuple(setting["enum"]) == choice_names()
    assert len(setting["enumDescriptions"]) == len(setting["enum"])
    for choice in choice_names():
        options, problems = parse_options({"model": choice.upper()})
        assert options.model == choice and not problems
    options, problems = parse_options({"model": "int4"})
    assert options.model == "int8"
    assert problems == ['patina.model must be one of "int8", "fp32", "code", "code-fp32", got \'int4\'; using int8']
