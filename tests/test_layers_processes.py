"""Layers read in forked worker processes (issue 15) give what threads give: the same view, the same
layer descriptions, the same errors (pickled back from the worker), the same image-wide member bound.

Processes are used for local transports (``oci:``, ``oci-archive:``, ``docker-archive:``) when several
workers and enough compressed bytes are there; ``ALPINIST_LAYER_WORKERS`` forces one mode. Whether a
run forked is counted with ``os.register_at_fork`` in this (the parent) process: with two workers, one
worker process reads the other layers while the parent reads the largest itself.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from alpinist.errors import DigestMismatch, UnsafeLayer
from alpinist.images import layers as layers_module
from alpinist.images.layers import Limits, build_view
from alpinist.images.open import PullOptions, open_source
from alpinist.images.reference import parse_reference
from alpinist.images.view import FileView, PathSelector
from tests.conftest import OCI_LAYOUT
from tests.imagebuild import Member, make_layout, tar_bytes

EVERYTHING = PathSelector(patterns=("*",))
FORKS: list[int] = []
os.register_at_fork(after_in_parent=lambda: FORKS.append(1))


def read(
    reference: str, mode: str, monkeypatch: pytest.MonkeyPatch, limits: Limits | None = None
) -> tuple[FileView, tuple[object, ...], int]:
    """The view and layer descriptions of ``reference`` read in ``mode``, and how many forks it took."""
    monkeypatch.setenv(layers_module.MODE_ENV, mode)
    source = open_source(parse_reference(reference), PullOptions())
    before = len(FORKS)
    try:
        view, infos = build_view(source, source.resolve(), EVERYTHING, limits or Limits(), workers=2)
    finally:
        source.close()
    return view, infos, len(FORKS) - before


def layout_of(tmp_path: Path, tars: list[bytes]) -> str:
    layout = tmp_path / "oci"
    make_layout(layout, "img:1", tars)
    return f"oci:{layout}:img:1"


@pytest.mark.parametrize("tag", ["python-app:debian", "python-app:alpine"])
def test_processes_read_the_same_view_as_threads(tag: str, monkeypatch: pytest.MonkeyPatch) -> None:
    threads, thread_infos, thread_forks = read(f"oci:{OCI_LAYOUT}:{tag}", "threads", monkeypatch)
    processes, process_infos, process_forks = read(f"oci:{OCI_LAYOUT}:{tag}", "processes", monkeypatch)
    assert thread_forks == 0 and process_forks == 1  # two workers: one forked, and this process
    assert processes.entries == threads.entries and len(processes.entries) > 1000
    assert processes.history == threads.history
    assert process_infos == thread_infos


def test_auto_mode_forks_only_for_a_fork_safe_source_with_enough_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tars = [tar_bytes([Member(f"l{n}/f{i}", b"x" * 100) for i in range(20)]) for n in range(3)]
    reference = layout_of(tmp_path, tars)
    view, _, forks = read(reference, "auto", monkeypatch)
    assert forks == 0 and len(view.entries) == 60  # a few KiB: threads
    monkeypatch.setattr(layers_module, "PROCESS_MIN_BYTES", 1)
    view_forked, _, forks = read(reference, "auto", monkeypatch)
    assert forks == 1 and view_forked.entries == view.entries

    class RegistryLike:  # no fork_safe: its HTTP client must not cross a fork
        pass

    assert not layers_module._use_processes(RegistryLike(), (), 2)  # type: ignore[arg-type]


def test_the_parent_reads_the_largest_layer_and_a_worker_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = (30, 400, 60)  # layer 1 holds the most (incompressible) bytes
    tars = [tar_bytes([Member(f"l{n}/f{i}", os.urandom(512)) for i in range(count)]) for n, count in enumerate(sizes)]
    reference = layout_of(tmp_path, tars)
    read_here: list[int] = []
    real = layers_module._read_blob

    def recording(*args: Any) -> Any:
        read_here.append(args[2])  # only this process's calls land in this list
        return real(*args)

    monkeypatch.setattr(layers_module, "_read_blob", recording)
    view, _, forks = read(reference, "processes", monkeypatch)
    assert forks == 1 and read_here == [1]
    assert len(view.entries) == sum(sizes)
    read_here.clear()
    threads, _, forks = read(reference, "threads", monkeypatch)
    assert forks == 0 and sorted(read_here) == [0, 1, 2] and threads.entries == view.entries


def test_a_hostile_layer_in_a_worker_is_the_same_error_as_in_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tar_bytes([Member("etc/os-release", b"ID=debian\n")])
    hostile = tar_bytes([Member("../../escape", b"boo")])
    reference = layout_of(tmp_path, [good, hostile, good])
    errors = []
    for mode in ("threads", "processes"):
        with pytest.raises(UnsafeLayer) as info:
            read(reference, mode, monkeypatch)
        errors.append((type(info.value), str(info.value), info.value.digest, info.value.reason))
    assert errors[0] == errors[1]
    assert "escapes the image root" in errors[1][1]


def test_a_damaged_blob_read_in_a_worker_is_a_digest_mismatch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tars = [tar_bytes([Member(f"l{n}/f", os.urandom(4096))]) for n in range(2)]
    reference = layout_of(tmp_path, tars)
    blob = tmp_path / "oci" / "blobs" / "sha256" / hashlib.sha256(gzip.compress(tars[1], mtime=0)).hexdigest()
    if not blob.exists():  # make_layout's gzip settings: find the blob by its content
        blob = next(
            p
            for p in (tmp_path / "oci" / "blobs" / "sha256").iterdir()
            if gzip.decompress(p.read_bytes()) == tars[1]
        )
    data = bytearray(blob.read_bytes())
    data[-20] ^= 0x01
    blob.write_bytes(bytes(data))
    with pytest.raises(DigestMismatch) as info:
        read(reference, "processes", monkeypatch)
    assert info.value.digest == "sha256:" + blob.name


def test_the_image_wide_member_bound_holds_across_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tars = [tar_bytes([Member(f"l{n}/f{i}", b"") for i in range(5)]) for n in range(3)]  # 3 x 5 members
    reference = layout_of(tmp_path, tars)
    with pytest.raises(UnsafeLayer) as info:
        read(reference, "processes", monkeypatch, Limits(max_members=10, max_image_members=14))
    assert "more than 14 tar members in the image's layers" in str(info.value)
    view, _, forks = read(reference, "processes", monkeypatch, Limits(max_members=10, max_image_members=15))
    assert forks == 1 and sorted(view.paths()) == sorted(f"/l{n}/f{i}" for n in range(3) for i in range(5))


def _inventory_in_daemon(reference: str, results: Any) -> None:
    from alpinist.inventory.build import build_inventory

    try:
        results.put(len(build_inventory(reference, use_cache=False).packages))
    except Exception as exc:  # the parent asserts on what came back
        results.put(f"{type(exc).__name__}: {exc}")


def test_a_daemonic_process_reads_with_threads() -> None:
    """A Dask worker (or any multiprocessing daemon) may not have children: the layers of an image big
    enough for worker processes are read with threads there, not refused with 'daemonic processes are not
    allowed to have children'."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(
        target=_inventory_in_daemon, args=(f"oci:{OCI_LAYOUT}:python-app:debian", results), daemon=True
    )
    child.start()
    try:
        got = results.get(timeout=300)
    finally:
        child.join(timeout=60)
    assert got == 143  # python-app:debian's packages, as in the parent
