"""The code model: its delta (small, recorded, merged right) and the ONNX files built from it, against
reference vectors the training code computed (tests/data/code-MiniLM-L6-v2.json)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from patina_lsp.embedding import ModelError
from patina_lsp.embedding.delta import DeltaError, merge_lora, save_lora
from patina_lsp.embedding.files import ModelFiles, sha256_of
from patina_lsp.embedding.models import CHOICES, CODE, MINILM, repository_models_dir, store_key

REPO = Path(__file__).resolve().parents[1]
CODE_GOLDEN = REPO / "tests" / "data" / f"{CODE.name}.json"


def training_script(name: str):
    """A module of models/train/, which is a folder of scripts rather than a package."""
    scripts = str(REPO / "models" / "train")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    return importlib.import_module(name)


@pytest.fixture(scope="session")
def code_golden():
    data = json.loads(CODE_GOLDEN.read_text())
    texts = [item["text"] for item in data["items"]]
    ref = np.array([item["embedding"] for item in data["items"]], dtype=np.float32)
    return texts, ref / np.linalg.norm(ref, axis=1, keepdims=True), data


def test_the_delta_is_one_small_file_with_the_recorded_hash():
    path = repository_models_dir() / CODE.delta
    assert path.stat().st_size <= 2 * 1024 * 1024
    assert CODE.delta_sha256 == sha256_of(path)


def test_the_golden_vectors_were_made_from_the_shipped_delta(code_golden):
    _, _, data = code_golden
    assert data["delta"]["sha256"] == CODE.delta_sha256


def test_every_choice_names_a_model_and_a_precision():
    assert CHOICES["int8"] == (MINILM, "int8") and CHOICES["fp32"] == (MINILM, "fp32")
    assert CHOICES["code"] == (CODE, "int8") and CHOICES["code-fp32"] == (CODE, "fp32")
    assert MINILM.onnx_file("int8") != CODE.onnx_file("int8")


def test_merge_adds_the_scaled_product_of_the_factors(tmp_path):
    rng = np.random.default_rng(0)
    weights = {"encoder.layer.0.attention.self.query.weight": rng.normal(size=(6, 5)).astype(np.float32),
               "encoder.layer.0.attention.self.query.bias": rng.normal(size=6).astype(np.float32)}
    a, b = rng.normal(size=(2, 5)), rng.normal(size=(6, 2))
    save_lora(tmp_path / "d.npz", {"encoder.layer.0.attention.self.query.weight": (a, b)}, alpha=4.0, rank=2)
    merged = merge_lora(weights, tmp_path / "d.npz")
    expected = weights["encoder.layer.0.attention.self.query.weight"] + 2.0 * (
        b.astype(np.float16).astype(np.float32) @ a.astype(np.float16).astype(np.float32))
    assert np.allclose(merged["encoder.layer.0.attention.self.query.weight"], expected, atol=1e-5)
    assert merged["encoder.layer.0.attention.self.query.bias"] is weights["encoder.layer.0.attention.self.query.bias"]


def test_a_blend_of_two_deltas_merges_as_the_blend_of_their_differences(tmp_path):
    """models/train/interpolate.py (NumPy only; PyTorch only for --validate): the blended file,
    merged, adds (1 - w) * the first difference + w * the second, within the rank cut's error."""
    blend = training_script("interpolate").blend

    rng = np.random.default_rng(1)
    name = "encoder.layer.0.attention.self.query.weight"
    weights = {name: rng.normal(size=(8, 6)).astype(np.float32)}
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    a1, b1, a2, b2 = rng.normal(size=(2, 6)), rng.normal(size=(8, 2)), rng.normal(size=(2, 6)), rng.normal(size=(8, 2))
    save_lora(first, {name: (a1, b1)}, alpha=4.0, rank=2)
    save_lora(second, {name: (a2, b2)}, alpha=2.0, rank=2)
    d1 = merge_lora(weights, first)[name] - weights[name]
    d2 = merge_lora(weights, second)[name] - weights[name]
    for w in (0.0, 0.5, 1.0):
        factors, kept = blend(first, second, w, rank=4)  # rank 4 holds the sum of two rank-2 terms exactly
        save_lora(tmp_path / "blend.npz", factors, alpha=4.0, rank=4)
        got = merge_lora(weights, tmp_path / "blend.npz")[name] - weights[name]
        assert np.allclose(got, (1 - w) * d1 + w * d2, atol=2e-2), w
        assert kept > 0.999
    # cut to rank 1 the blend loses part of its norm, and says so
    _, kept = blend(first, second, 0.5, rank=1)
    assert kept < 0.99
    # deltas that adapt different matrices cannot be blended
    save_lora(tmp_path / "other.npz", {"encoder.layer.1.attention.self.query.weight": (a1, b1)}, alpha=4.0, rank=2)
    with pytest.raises(DeltaError, match="different matrices"):
        blend(first, tmp_path / "other.npz", 0.5, rank=4)


def test_a_hard_negative_is_the_closest_unit_that_cannot_be_the_partner():
    """models/train/negatives.py (NumPy only): within a package, each description's negative is the
    unit it is closest to, leaving out its partner, a unit with the same description or text, and a
    unit nearly as close as the partner (over 0.95 of its cosine)."""
    choose = training_script("negatives").choose

    def unit(angle: float) -> np.ndarray:
        return np.array([np.cos(angle), np.sin(angle)], dtype=np.float32)

    pairs = [{"query": "parse a date", "document": "fn parse_date"},
             {"query": "parse a time", "document": "fn parse_time"},
             {"query": "parse a date", "document": "fn parse_date_strict"},  # same description as 0
             {"query": "format a date", "document": "fn format_date"},
             {"query": "read a file", "document": "fn parse_date"}]  # same text as 0
    queries = np.stack([unit(0.0), unit(1.0), unit(0.0), unit(2.0), unit(3.0)])
    documents = np.stack([unit(0.0), unit(0.25), unit(0.05), unit(0.6), unit(0.0)])
    chosen = choose(queries, documents, pairs)
    # pair 0: 2 and 4 may describe its partner; 1 (cos 0.97) is nearly as close as the partner (1.0)
    assert chosen[0]["negative"] == 3 and chosen[0]["score"] == pytest.approx(np.cos(0.6), abs=1e-4)
    assert chosen[0]["positive"] == pytest.approx(1.0, abs=1e-4)
    # pair 1 (partner at cos 0.73): 3 (cos 0.92) ranks above the partner, which a mined pair's
    # description may well describe too; 2 (cos 0.58) is the closest one left
    assert chosen[1]["negative"] == 2 and chosen[1]["score"] == pytest.approx(np.cos(0.95), abs=1e-4)
    alone = choose(queries[:1], documents[:1], pairs[:1])
    assert alone == [{"negative": None, "score": None, "positive": pytest.approx(1.0, abs=1e-4)}]


def test_training_reads_each_pairs_negative_and_refuses_a_file_for_other_pairs(tmp_path):
    """negatives.attach, what train.py --hard-negatives calls: the negative's text joins its pair; a
    negatives.jsonl mined for another train.jsonl is refused with the fix, nothing attached."""
    attach = training_script("negatives").attach

    pairs = [{"query": "parse a date", "document": "fn parse_date"},
             {"query": "parse a time", "document": "fn parse_time"},
             {"query": "read a file", "document": "fn read"}]
    chosen = [{"negative": 1, "score": 0.5, "positive": 0.8}, {"negative": 0, "score": 0.4, "positive": 0.7},
              {"negative": None, "score": None, "positive": 0.9}]
    path = tmp_path / "negatives.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in chosen))
    attach(pairs, path)
    assert [p.get("negative") for p in pairs] == ["fn parse_time", "fn parse_date", None]
    fewer = [{"query": "parse a date", "document": "fn parse_date"}]
    with pytest.raises(SystemExit, match="3 lines for 1 pairs; run negatives.py again"):
        attach(fewer, path)
    assert "negative" not in fewer[0]


def test_decontamination_drops_a_sets_queries_their_near_copies_and_its_code(tmp_path):
    """mine.py decontaminate, run on a small mined folder and a development set of one file: a pair
    whose description is a set's query, or that query with a word changed (docs copied into another
    package), or whose code is a set's unit's, is dropped; a pair that only shares a few words stays."""
    mine = training_script("mine")

    dev = tmp_path / "dev"
    (dev / "corpus" / "pkg").mkdir(parents=True)
    body = "    left, right = sorted((lower, upper))\n    return left + int(random() * (right - left + 1))\n"
    (dev / "corpus" / "pkg" / "rand.py").write_text(f"def between(lower, upper):\n{body}")
    query = "Produces a random integer between the inclusive lower and upper bounds."
    (dev / "queries.jsonl").write_text(json.dumps({"query": query, "targets": []}) + "\n")
    with mine.Extractor(1_000_000) as extractor:
        units = mine.units_of(extractor, [("vendored.py", f"def between(lower, upper):\n{body}")], "other")
    copied_code = mine.code_key(units[0].code)
    assert copied_code is not None

    def pair(text: str, key: str | None = None, package: str = "npm-utility") -> dict:
        return {"query": text, "document": "...", "code_key": key, "package": package}

    rows = [pair(query.upper()),  # the query itself
            pair("Produces a random number between the inclusive lower and upper bounds."),  # a near copy
            pair("Returns a random element of the list.", copied_code, "npm-sample"),  # the set's code
            pair("Produces a random integer for the retry delay.")]  # shares words, not a copy
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "val.jsonl").write_text("")
    (tmp_path / "report.json").write_text("[]")
    mine.decontaminate(tmp_path, [dev])
    kept = [json.loads(line)["query"] for line in (tmp_path / "train.jsonl").open()]
    assert kept == ["Produces a random integer for the retry delay."]
    report = json.loads((tmp_path / "report.json").read_text())[-1]
    assert report["pairs_in_a_set"] == {"npm-utility": 2, "npm-sample": 1}


def test_source_packages_of_a_standard_library_or_a_dev_set_are_never_mined():
    """Java's and C's standard libraries (and their copies), the java-nodoc set's packages, with
    their Apache Commons siblings, and the c-nodoc set's are excluded by name; other libraries are not."""
    mine = training_script("mine")
    sys.path.insert(0, str(REPO / "tests" / "benchmarks"))
    from code_only_sets import C_SOURCES, JAVA_SOURCES

    def source(name):
        return {"source": "debian-source", "package": name}

    for name in ["openjdk-17", "classpath", "android-platform-libcore", "glibc", "musl", "gcc-12",
                 "llvm-toolchain-15", "backport-util-concurrent", "lua5.4", "commons-math3", *JAVA_SOURCES,
                 *C_SOURCES, "libevent-2.1"]:
        assert mine.excluded(source(name)), name
    for name in ["jackson-databind", "libisal", "picocli"]:
        assert not mine.excluded(source(name)), name


def test_an_npm_tarball_gives_its_own_sources_and_never_a_bundle(tmp_path):
    """A tarball's TypeScript sources are its .ts files (declarations skipped); its JavaScript
    sources leave out built folders, minified files and bundles (a line over NPM_MAX_LINE). npm's
    copies of Node's own modules are excluded by name, as Debian's are."""
    import io
    import tarfile

    mine = training_script("mine")

    files = {
        "package/lib/retry.js": "/** Retries a call. */\nfunction retry(call) {\n  return call();\n}\n",
        "package/lib/retry.min.js": "function retry(c){return c()}\n",
        "package/dist/retry.js": "function retry(call) {\n  return call();\n}\n",
        "package/lib/bundle.js": "var a=" + "1+" * 600 + "1;\n",
        "package/src/backoff.ts": "export function backoff(n: number): number {\n  return 2 ** n;\n}\n",
        "package/src/backoff.d.ts": "export declare function backoff(n: number): number;\n",
    }
    archive = tmp_path / "package.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert [rel for rel, _ in mine.npm_sources(archive)] == ["src/backoff.ts"]
    assert [rel for rel, _ in mine.npm_sources(archive, "javascript")] == ["lib/retry.js"]
    for name in ["readable-stream", "events", "util", "buffer", "punycode", "string_decoder", "process"]:
        assert mine.npm_excluded(name), name
    for name in ["ioredis", "luxon", "event-emitter3"]:
        assert not mine.npm_excluded(name), name


def test_related_pairs_skip_dropped_packages_and_keep_at_most_a_share_of_one():
    """A package `decontaminate` dropped gives no related pairs; a package that links everything
    gives at most the cap, the same pairs every run, in their own order."""
    mine = training_script("mine")

    report = [{"package": "npm-a", "status": "kept"}, {"packages_dropped": ["npm-b"]},
              {"packages_dropped": ["zthreads"]}]
    assert mine.dropped_packages(report) == {"npm-b", "zthreads"}
    pairs = [{"units": [f"f.ts:f{i}", f"f.ts:g{i}"]} for i in range(10)]
    kept = mine.at_most(pairs, 4)
    assert len(kept) == 4 and kept == mine.at_most(list(pairs), 4)
    assert kept == [p for p in pairs if p in kept]  # the mined order
    assert mine.at_most(pairs[:3], 4) == pairs[:3]


def test_a_delta_that_does_not_fit_the_weights_is_refused(tmp_path):
    weights = {"w": np.zeros((6, 5), np.float32)}
    save_lora(tmp_path / "d.npz", {"w": (np.zeros((2, 4)), np.zeros((6, 2)))}, alpha=2.0, rank=2)
    with pytest.raises(DeltaError, match=r"give \(6, 4\).*\(6, 5\)"):
        merge_lora(weights, tmp_path / "d.npz")
    save_lora(tmp_path / "e.npz", {"v": (np.zeros((2, 5)), np.zeros((6, 2)))}, alpha=2.0, rank=2)
    with pytest.raises(DeltaError, match="weights do not have"):
        merge_lora(weights, tmp_path / "e.npz")
    (tmp_path / "f.npz").write_bytes(b"not a delta")
    with pytest.raises(DeltaError, match="not a readable delta"):
        merge_lora(weights, tmp_path / "f.npz")
    np.savez(tmp_path / "g.npz", meta=np.array('{"format": "lora", "rank": 2, "alpha": 2.0}'), **{"w.a": np.zeros((2, 5))})
    with pytest.raises(DeltaError, match="only one of its two factors"):
        merge_lora(weights, tmp_path / "g.npz")


def test_a_blend_weight_outside_zero_to_one_is_refused(tmp_path):
    save_lora(tmp_path / "a.npz", {"w": (np.zeros((2, 5)), np.zeros((6, 2)))}, alpha=2.0, rank=2)
    done = subprocess.run([sys.executable, str(REPO / "models" / "train" / "interpolate.py"), str(tmp_path / "a.npz"),
                           str(tmp_path / "a.npz"), "--weight", "1.5", "--out", str(tmp_path / "out.npz")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "--weight must be between 0 and 1" in done.stderr
    assert not (tmp_path / "out.npz").exists()


def test_code_fp32_matches_the_training_code(code_fp32_embedder, code_golden):
    texts, ref, _ = code_golden
    cos = (code_fp32_embedder.embed(texts) * ref).sum(axis=1)
    assert cos.min() >= 0.9999, list(zip(texts, cos))


def test_code_int8_close_to_the_training_code(code_int8_embedder, code_golden):
    texts, ref, _ = code_golden
    cos = (code_int8_embedder.embed(texts) * ref).sum(axis=1)
    assert cos.mean() >= 0.99
    assert cos.min() >= 0.98, list(zip(texts, cos))


def test_the_code_model_is_not_the_base_model(code_fp32_embedder, fp32_embedder, code_golden):
    texts, _, _ = code_golden
    cos = (code_fp32_embedder.embed(texts) * fp32_embedder.embed(texts)).sum(axis=1)
    assert cos.min() < 0.98  # the delta moved the vectors (the same model would give 1.0)
    assert code_fp32_embedder.identity != fp32_embedder.identity


def test_the_code_model_has_its_own_manifest_and_files(code_model_files):
    manifest = json.loads(code_model_files.manifest_of(CODE).read_text())
    assert manifest["delta"] == {"file": CODE.delta, "sha256": CODE.delta_sha256}
    for choice in ("code", "code-fp32"):
        path = code_model_files.onnx(choice)
        assert manifest["files"][path.name]["sha256"] == sha256_of(path)


def test_a_missing_code_model_names_its_own_fetch_command(tmp_path):
    with pytest.raises(ModelError, match=r"code-MiniLM-L6-v2-int8\.onnx.*patina models fetch --model code"):
        ModelFiles(tmp_path).verify("code")


def test_the_command_line_searches_with_the_code_model(tmp_path, code_model_files):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "net.py").write_text(
        "def retry_with_backoff(call, attempts=5):\n    for i in range(attempts):\n        try:\n"
        "            return call()\n        except OSError:\n            time.sleep(2 ** i)\n\n"
        "def parse_color(text):\n    return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))\n")
    done = subprocess.run([sys.executable, "-m", "patina_lsp", "search", "--model", "code", "--json",
                           "--cache-dir", str(tmp_path / "cache"), str(tmp_path / "ws"),
                           "try the call again after waiting longer each time"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    items = json.loads(done.stdout)["items"]
    assert items[0]["name"] == "retry_with_backoff"
    # the code model's store is its own, named for the delta it was built from
    assert store_key("code") == f"code-{CODE.delta_sha256[:12]}"
    assert [p.name for p in (tmp_path / "cache").glob("*/*") if p.is_dir()] == [store_key("code")]


def test_a_delta_whose_hash_differs_from_the_spec_is_refused_with_the_fix():
    import dataclasses

    from patina_lsp.embedding.build import delta_path

    assert delta_path(CODE).name == CODE.delta
    with pytest.raises(ModelError, match=r"sha256 other than the one recorded.*git checkout -- models/"):
        delta_path(dataclasses.replace(CODE, delta_sha256="0" * 64))


def test_files_built_from_another_delta_are_stale_and_built_again(tmp_path, code_model_files):
    """After the delta in models/ changes (a pull), files built from the old one must not be used: their
    vectors would be stored under the new delta's store key."""
    files = ModelFiles(tmp_path)
    built = json.loads(code_model_files.manifest_of(CODE).read_text())
    assert built["delta"]["sha256"] == CODE.delta_sha256 and not code_model_files.stale(CODE)
    built["delta"]["sha256"] = "0" * 64  # what a build from an older delta recorded
    files.manifest_of(CODE).write_text(json.dumps(built))
    assert files.stale(CODE) and not files.stale(MINILM)
    # and ensure_models builds every file again (not only the missing ones), from the delta in models/
    import shutil

    from patina_lsp.embedding.build import ensure_models

    for name in (CODE.onnx_file("fp32"), CODE.onnx_file("int8")):
        shutil.copyfile(code_model_files.directory / name, tmp_path / name)
    shutil.copyfile(code_model_files.tokenizer, files.tokenizer)
    (tmp_path / CODE.onnx_file("int8")).write_bytes(b"built from an older delta")
    ensure_models(files, "code")
    assert not files.stale(CODE)
    assert sha256_of(files.onnx("code")) == sha256_of(code_model_files.onnx("code"))
