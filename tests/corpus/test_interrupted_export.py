"""An export interrupted in the middle leaves what was there before: no ``b.zip.tmp``, and an older
bundle folder whole rather than half-overwritten (which would then read as tampered)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.export import bundle

FILES = {"config.json": b"{}", "decision.md": b"# new\n", "MANIFEST.json": b"x"}


class Interrupted(KeyboardInterrupt):
    pass


def _break_after(monkeypatch, n: int) -> None:
    """Writing the (n+1)-th file raises, as Ctrl-C or a full disk would."""
    real = Path.write_bytes
    calls = {"n": 0}

    def write_bytes(self: Path, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] > n:
            raise Interrupted
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


def test_interrupted_zip_export_leaves_no_tmp_file(tmp_path, monkeypatch):
    _break_after(monkeypatch, 0)
    with pytest.raises(Interrupted):
        bundle.write(FILES, tmp_path / "b.zip")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_folder_export_keeps_the_older_bundle(tmp_path, monkeypatch):
    out = tmp_path / "b"
    old = {"config.json": b'{"old": 1}', "decision.md": b"# old\n", "MANIFEST.json": b"y"}
    bundle.write(old, out)
    _break_after(monkeypatch, 1)
    with pytest.raises(Interrupted):
        bundle.write(FILES, out)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # no temporary folder left
    assert {p.name: p.read_bytes() for p in out.iterdir()} == old


def test_folder_export_replaces_the_older_bundle(tmp_path):
    out = tmp_path / "b"
    bundle.write({"config.json": b"{}", "report.html": b"<p>", "MANIFEST.json": b"y"}, out)
    bundle.write(FILES, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == FILES
    assert [p.name for p in tmp_path.iterdir()] == ["b"]
