"""The bad-input corpus, command side: spec files, storage, bundles and the room.

Why apart from ``cases.py``: these cases need more than one file (a table and a spec, a database,
a bundle), so ``make_file`` builds a small folder and ``argv`` names its parts with ``{dir}``.
``then`` is a second command whose output must contain ``then_expect``: how a case shows that a
failed command left nothing half-made in a database.
"""

from __future__ import annotations

import functools
import json
import pickle
import shutil
import socket
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.corpus.cases import Case
from tests.corpus.tables import base, csv

STORE = "sqlite:///{dir}/s.db"


def _spec(**changes) -> dict:
    raw = {
        "data": {"path": "t.csv", "target": "y"},
        "families": ["logreg"],
        "budget": {"n_trials": 2},
        "validation": {"cv_folds": 2, "latency_repeats": 20},
    }
    raw.update(changes)
    return raw


def _spec_folder(content: Callable[[Path], bytes], storage: bool = False) -> Callable[[Path], Path]:
    """A table ``t.csv``, the spec ``spec.json`` made by ``content`` (given the table's path) and,
    when ``storage``, an empty study database ``s.db``."""

    def make(folder: Path) -> Path:
        table = folder / "t.csv"
        table.write_bytes(csv(base()))
        spec = folder / "spec.json"
        spec.write_bytes(content(table))
        if storage:
            _empty_storage(folder)
        return spec

    return make


def _empty_storage(folder: Path) -> None:
    from core import search
    from core.search import dispose

    url = STORE.format(dir=folder)
    search.optuna_storage(url)
    dispose(url)


def _json(**changes) -> Callable[[Path], bytes]:
    def content(table: Path) -> bytes:
        raw = _spec(**changes)
        raw["data"] = {**raw["data"], "path": str(table)}
        return json.dumps(raw).encode()

    return content


def _text(encoding: str, prefix: bytes = b"") -> Callable[[Path], bytes]:
    def content(table: Path) -> bytes:
        raw = _spec()
        raw["data"] = {**raw["data"], "path": str(table), "target": "y"}
        raw["notes"] = "Müller café"
        return prefix + json.dumps(raw, ensure_ascii=False).encode(encoding)

    return content


def _no_notes(encoding: str, prefix: bytes = b"") -> Callable[[Path], bytes]:
    def content(table: Path) -> bytes:
        raw = _spec()
        raw["data"] = {**raw["data"], "path": str(table)}
        raw["families"] = ["logreg"]
        return prefix + json.dumps(raw).encode(encoding)

    return content


def _bytes(raw: bytes) -> Callable[[Path], bytes]:
    return lambda _table: raw


SEARCH = ("search", "{data}", "--storage", STORE, "--create-only")
IMPORT = ("import", "{data}", "--storage", STORE, "--study", "imp")
STUDIES = ("studies", "--storage", STORE)
NOTHING = "no studies in"

_NESTED = b"[" * 100_000 + b"]" * 100_000


def _spec_case(name: str, content, argv, expect: str, *, then: tuple[str, ...] = STUDIES, accepted: bool = False):
    """A spec-file case; refused ones must leave the (pre-made, empty) study database empty."""
    return Case(
        name,
        _spec_folder(content, storage=True),
        argv,
        expect,
        "spec file",
        accepted=accepted,
        then=() if accepted else then,
        then_expect="" if accepted else NOTHING,
    )


# fmt: off
SPEC_FILE = [
    _spec_case("Latin-1 spec (search)", _text("latin-1"), SEARCH, "spec.json is not UTF-8"),
    _spec_case("Latin-1 spec (import)", _text("latin-1"), IMPORT, "spec.json is not UTF-8"),
    _spec_case("UTF-16 spec (search)", _text("utf-16"), SEARCH, "spec.json is UTF-16 text"),
    _spec_case("UTF-16 spec (import)", _text("utf-16"), IMPORT, "spec.json is UTF-16 text"),
    _spec_case("UTF-8 BOM spec (search)", _no_notes("utf-8", b"\xef\xbb\xbf"), SEARCH, "created; start workers", accepted=True),
    _spec_case("UTF-8 BOM spec (import)", _no_notes("utf-8", b"\xef\xbb\xbf"), IMPORT, "imp", accepted=True),
    _spec_case("deeply nested JSON (search)", _bytes(_NESTED), SEARCH, "nested too deeply"),
    _spec_case("deeply nested JSON (import)", _bytes(_NESTED), IMPORT, "nested too deeply"),
    _spec_case("not JSON", _bytes(b"data: t.csv\ntarget: y\n"), SEARCH, "The spec is not valid JSON"),
    _spec_case("JSON list, not object", _bytes(b"[1, 2, 3]"), SEARCH, "expected a JSON object at the top level"),
    _spec_case("data is a string", _bytes(b'{"data": "t.csv"}'), SEARCH, "data: expected a JSON object, got str"),
    _spec_case("empty objectives list", _json(objectives=[]), SEARCH, "objectives: the list is empty"),
    _spec_case("unknown objective", _json(objectives=["accuracy_plus"]), SEARCH, "unknown objective 'accuracy_plus'"),
    _spec_case("budget of 10^30", _json(budget={"n_trials": 10**30}), SEARCH, "budget.n_trials: must be from 1 to 1,000,000 trials, got 1e+30"),
    _spec_case("--trials 10^30", _json(), (*SEARCH, "--trials", str(10**30)), "argument --trials: must be at least 1 and at most 1,000,000"),
    _spec_case("seed of 2^64", _json(seed=2**64), SEARCH, "seed"),
    _spec_case("--trials -3", _json(), (*SEARCH, "--trials", "-3"), "argument --trials: must be at least 1 and at most 1,000,000, got -3"),
    _spec_case("--trials 0", _json(), (*SEARCH, "--trials", "0"), "argument --trials: must be at least 1 and at most 1,000,000, got 0"),
    _spec_case("--timeout -5", _json(), (*SEARCH, "--timeout", "-5"), "argument --timeout: must be more than 0 seconds, got -5"),
    _spec_case("--timeout nan", _json(), (*SEARCH, "--timeout", "nan"), "argument --timeout: must be more than 0 seconds, got nan"),
    _spec_case("--workers 0", _json(), (*SEARCH, "--workers", "0"), "--workers must be at least 1, got 0"),
    _spec_case("spec file missing", lambda _t: b"", ("search", "{dir}/nope.json", "--storage", STORE), "nope.json' does not exist"),
]
# fmt: on


def _init(*extra: str) -> Case:
    def make(folder: Path) -> Path:
        (folder / "t.csv").write_bytes(csv(base()))
        return folder / "t.csv"

    name = " ".join(extra)
    return Case(
        name, make, ("init", "{data}", "--target", "y", "-o", "{out}", *extra), _INIT_EXPECT[name], "init options"
    )


_INIT_EXPECT = {
    "--objectives ,": "argument --objectives: names nothing (','); give comma-separated names",
    "--families ,": "argument --families: names nothing",
    "--trials -3": "argument --trials: must be at least 1 and at most 1,000,000, got -3",
    "--trials 1e3": "argument --trials: must be a whole number, got '1e3'",
    "--timeout -5": "argument --timeout: must be more than 0 seconds, got -5",
    "--timeout inf": "argument --timeout: must be more than 0 seconds, got inf",
    "--seed -1": "seed",
    f"--seed {2**64}": "seed",
}
INIT_OPTIONS = [_init(*k.split(" ")) for k in _INIT_EXPECT]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _nothing(folder: Path) -> Path:
    return folder / "typo.db"


def _empty_db(folder: Path) -> Path:
    _empty_storage(folder)
    return folder / "s.db"


_PG = f"postgresql+psycopg://u:secret@127.0.0.1:{_closed_port()}/db"

# fmt: off
STORAGE = [
    Case("front on a database that does not exist", _nothing, ("front", "--storage", "sqlite:///{data}", "--study", "s"), "typo.db' does not exist, so it holds no studies", "storage"),
    Case("studies on a database that does not exist", _nothing, ("studies", "--storage", "sqlite:///{data}"), "typo.db' does not exist, so it holds no studies", "storage"),
    Case("limits show on a database that does not exist", _nothing, ("limits", "show", "--storage", "sqlite:///{data}", "--study", "s"), "typo.db' does not exist, so it holds no studies", "storage"),
    Case("room show on a database that does not exist", _nothing, ("room", "show", "--storage", "sqlite:///{data}", "--study", "s"), "typo.db' does not exist, so it holds no studies", "storage"),
    Case("bare path that does not exist", _nothing, ("studies", "--storage", "{data}"), "typo.db' does not exist, so it holds no studies", "storage"),
    Case("unreachable PostgreSQL (closed port)", _nothing, ("studies", "--storage", _PG), "u:***@127.0.0.1", "storage"),
    Case("not a URL scheme", _nothing, ("studies", "--storage", "nosuchdb://x/y"), "Cannot open storage nosuchdb://x/y", "storage"),
    Case("unknown study", _empty_db, ("front", "--storage", "sqlite:///{data}", "--study", "nope"), "No study named 'nope'", "storage"),
    Case("unknown study (worker)", _empty_db, ("worker", "--storage", "sqlite:///{data}", "--study", "nope"), "No study named 'nope'", "storage"),
]
# fmt: on


@functools.lru_cache(maxsize=1)
def _made_bundle() -> tuple[Path, Path]:
    """One real bundle (a folder) and its table, made once: (bundle, table)."""
    import tempfile

    from core import search
    from core.export.build import build
    from core.export.bundle import write
    from core.search import dispose
    from core.spec import Budget, DataRef, Spec, Validation

    root = Path(tempfile.mkdtemp(prefix="corpus-bundle-"))
    table = root / "t.csv"
    table.write_bytes(csv(base()))
    spec = Spec(
        data=DataRef(path=str(table), target="y"),
        families=("logreg",),
        budget=Budget(n_trials=1),
        validation=Validation(cv_folds=2, latency_repeats=20),
    )
    url = f"sqlite:///{root / 's.db'}"
    study = search.create_study(spec, url, "b", warm_start=True)
    search.run(study.study_name, url)
    write(build(url, "b", 0, with_onnx=False).files, root / "bundle")
    dispose(url)
    return root / "bundle", table


def _bundle(change: Callable[[Path], None] | None = None, as_zip: bool = False) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        made, table = _made_bundle()
        shutil.copy(table, folder / "t.csv")
        out = folder / "bundle"
        shutil.copytree(made, out)
        if change is not None:
            change(out)
        if not as_zip:
            return out
        archive = folder / "bundle.zip"
        with zipfile.ZipFile(archive, "w") as z:
            for p in sorted(out.rglob("*")):
                if p.is_file():
                    z.write(p, p.relative_to(out).as_posix())
        shutil.rmtree(out)
        return archive

    return make


def _remanifest(folder: Path) -> None:
    """Recompute MANIFEST.json as a forger would, so only the content checks can catch a change."""
    from core.export.bundle import MANIFEST, manifest

    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != MANIFEST}
    (folder / MANIFEST).write_bytes(manifest(files))


def _pickled_model(folder: Path) -> None:
    (folder / "model.pkl").write_bytes(pickle.dumps({"a": 1}))
    _remanifest(folder)


def _wrong_types(folder: Path) -> None:
    cfg = json.loads((folder / "config.json").read_text())
    cfg["metrics"] = {k: "high" for k in cfg.get("metrics", {})} or {"roc_auc": "high"}
    (folder / "config.json").write_text(json.dumps(cfg))
    _remanifest(folder)


def _zip_slip(folder: Path) -> Path:
    made, _table = _made_bundle()
    archive = folder / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for p in sorted(made.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(made).as_posix())
        z.writestr("../../evil.txt", "pwned")
    return archive


def _inf_table(folder: Path) -> Path:
    bundle_path = _bundle()(folder)
    df = base()
    df.loc[3, "x1"] = float("inf")
    (folder / "new.csv").write_bytes(csv(df))
    return bundle_path


# fmt: off
BUNDLES = [
    Case("pickle inside a bundle", _bundle(_pickled_model), ("predict", "{data}", "--data", "{dir}/t.csv", "-o", "{dir}/p.csv", "--ignore-extra"), "Unexpected file(s) in the bundle: model.pkl", "bundle"),
    Case("zip slip member", _zip_slip, ("predict", "{data}", "--data", "{dir}/t.csv", "-o", "{dir}/p.csv", "--ignore-extra"), "../../evil.txt", "bundle"),
    Case("tampered config, recomputed MANIFEST", _bundle(_wrong_types), ("predict", "{data}", "--data", "{dir}/t.csv", "-o", "{dir}/p.csv", "--ignore-extra"), "metrics.roc_auc: expected a number, got str 'high'", "bundle"),
    Case("tampered config in a zip", _bundle(_wrong_types, as_zip=True), ("reproduce", "{data}", "--data", "{dir}/t.csv"), "expected a number, got str 'high'", "bundle"),
    Case("inf in a feature (predict)", _inf_table, ("predict", "{data}", "--data", "{dir}/new.csv", "-o", "{dir}/p.csv", "--ignore-extra"), "Column 'x1' has 1 infinite value(s), in row(s) 4", "bundle"),
    Case("--latency-tolerance -1", _nothing, ("reproduce", "{dir}", "--data", "{dir}/t.csv", "--latency-tolerance", "-1"), "argument --latency-tolerance: must be at least 0, got -1", "bundle"),
    Case("not a bundle", _nothing, ("predict", "{dir}", "--data", "{dir}/t.csv", "-o", "{dir}/p.csv", "--ignore-extra"), "bundle", "bundle"),
    Case("export to a folder that does not exist", _empty_db, ("export", "--storage", "sqlite:///{data}", "--study", "s", "--trial", "0", "-o", "{dir}/no/such/folder/b.zip"), "no/such/folder' does not exist", "bundle"),
]
# fmt: on

_LEGACY_DB = Path(__file__).resolve().parents[1] / "fixtures" / "legacy" / "legacy.db"
_ROOM = ("--storage", "sqlite:///{dir}/s.db", "--study", "legacy")


def _room_db(folder: Path) -> Path:
    """A copy of the legacy study: its room is open (facilitator Ada) and has a passcode."""
    target = folder / "s.db"
    shutil.copy(_LEGACY_DB, target)
    return target


ROOM = [
    Case(
        "room join with a wrong passcode",
        _room_db,
        ("room", "join", *_ROOM, "--name", "Eve", "--passcode", "wrong-guess-1"),
        "Wrong passcode for this room",
        "room",
    ),
    Case(
        "room vote without a token",
        _room_db,
        ("room", "vote", *_ROOM, "--trial", "0"),
        "this needs your room token",
        "room",
    ),
    Case(
        "room vote with a forged token",
        _room_db,
        ("room", "vote", *_ROOM, "--trial", "0", "--token", "rt_1_forgedforgedforged"),
        "this room token is not valid",
        "room",
    ),
    Case(
        "room comment with a mistyped token",
        _room_db,
        ("room", "comment", *_ROOM, "--text", "hi", "--token", "nope"),
        "this room token is not valid",
        "room",
    ),
]

CLI_CASES: list[Case] = [*SPEC_FILE, *INIT_OPTIONS, *STORAGE, *BUNDLES, *ROOM]
