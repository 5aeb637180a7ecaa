"""The corpus pin (``tests/corpus_pin.py``) on a copy: an unchanged tree passes, and a changed, missing or
added file is named in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import CORPUS
from tests.corpus_pin import check, write


def test_the_corpus_is_the_pinned_one() -> None:
    assert check(CORPUS) is None


def test_a_changed_missing_or_added_file_is_named(tmp_path: Path) -> None:
    tree = tmp_path / "corpus"
    shutil.copytree(CORPUS / "versions", tree / "versions")
    manifest = tmp_path / "pins.sha256"
    assert write(tree, manifest) > 0
    assert check(tree, manifest) is None
    victim = sorted((tree / "versions").rglob("*.txt"))[0]
    victim.write_text(victim.read_text() + "1 < 2\n")
    message = check(tree, manifest)
    assert message is not None and "\n" not in message
    assert f"changed: {victim.relative_to(tree).as_posix()}" in message and "corpus_pin --write" in message
    victim.unlink()
    assert f"missing: {victim.relative_to(tree).as_posix()}" in (check(tree, manifest) or "")
    write(tree, manifest)
    (tree / "new.json").write_text("{}")
    assert "added: new.json" in (check(tree, manifest) or "")
