"""``migrate``'s user and group commands run in Alpine's own BusyBox (the corpus alpine:3.20.3 root
filesystem, chrooted), not only compared as strings: BusyBox ``adduser -G`` and ``addgroup USER GROUP`` take
a group *name* and reject a gid ("unknown group 1000"), which Debian's ``useradd -g``/``-G`` accept.

Expected ``/etc/passwd``/``/etc/group`` facts are written by hand from the Debian commands' meaning.
Needs root (chroot); skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from alpinist.dockerfile.migrate.users import translate_useradd
from alpinist.dockerfile.shell import split_commands
from tests.conftest import CORPUS

ARCHIVE = CORPUS / "images" / "archives" / "alpine-3.20.3.docker.tar"


@pytest.fixture(scope="module")
def alpine_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # the test command runs as root (it installs its apt packages): never skip quietly without it
    if os.geteuid() != 0 or shutil.which("chroot") is None:
        pytest.fail(
            "these tests run commands in an Alpine root with chroot: run them as root (./scripts/test does)"
        )
    """The corpus alpine:3.20.3 root filesystem (a trusted test input, unpacked for the test only)."""
    root = tmp_path_factory.mktemp("alpine") / "rootfs"
    root.mkdir()
    with tarfile.open(ARCHIVE) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        for name in manifest[0]["Layers"]:
            with tarfile.open(fileobj=archive.extractfile(name)) as layer:
                layer.extractall(root, filter="tar")
    return root


def run_translated(root: Path, tmp_path: Path, script: str, check: str) -> str:
    """Translate every command of ``script``, run them with ``set -e`` in a fresh copy, then ``check``."""
    fresh = tmp_path / "root"
    shutil.copytree(root, fresh, symlinks=True)
    translated = []
    for part in script.split(";"):
        (cmd,) = split_commands(part.strip())
        op = translate_useradd(cmd.words)
        assert op.text is not None, op.problem
        translated.append(op.text)
    proc = subprocess.run(
        ["chroot", str(fresh), "/bin/sh", "-ec", " && ".join(translated) + " && " + check],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "GID": "2000", "UID": "2000"},
        check=False,
    )
    assert proc.returncode == 0, f"{translated}: {proc.stderr.strip()}"
    return proc.stdout.strip()


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        # a name: the simple case
        ("groupadd -g 2000 web; useradd -u 2000 -g web web", "uid=2000(web) gid=2000(web) groups=2000(web)"),
        # a gid (Debian useradd -g and adduser --gid accept one)
        ("groupadd -g 2000 web; useradd -u 2000 -g 2000 web", "uid=2000(web) gid=2000(web) groups=2000(web)"),
        (
            "groupadd --gid 2000 web; useradd --uid 2000 --gid 2000 --no-create-home web",
            "uid=2000(web) gid=2000(web) groups=2000(web)",
        ),
        # the gid from a build argument, as `ARG GID=2000` would give it
        (
            "groupadd -g ${GID} web; useradd -u ${UID} -g ${GID} web",
            "uid=2000(web) gid=2000(web) groups=2000(web)",
        ),
        # supplementary groups by gid: audio is gid 18 in Alpine's /etc/group
        ("useradd -u 2000 -G 18 bob", "uid=2000(bob) gid=2000(bob) groups=2000(bob),18(audio)"),
    ],
)
def test_translated_user_creation_runs_in_busybox(
    alpine_root: Path, tmp_path: Path, script: str, expected: str
) -> None:
    user = "bob" if "bob" in script else "web"
    out = run_translated(alpine_root, tmp_path, script, f"id {user}")
    # BusyBox id lists the primary group twice when the user is also a member of it: compare as sets
    want_ids, _, want_groups = expected.rpartition(" groups=")
    got_ids, _, got_groups = out.rpartition(" groups=")
    assert got_ids == want_ids
    assert set(got_groups.split(",")) == set(want_groups.split(","))
