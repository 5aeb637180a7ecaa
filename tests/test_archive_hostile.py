"""The outer tar of ``oci-archive:`` and ``docker-archive:``: indexed by ``tarstream.index_archive`` (not
``tarfile``), so hostile archives are refused with one ``ImageError`` line naming the archive, and real
archives (skopeo's, GNU tar's) still give the image they hold.

Hostile archives are built here, in tmp_path, with ``tarfile``'s header writer (a trusted writer: only
the bytes it is given are hostile) or by hand where no writer would produce them.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from alpinist.cli.app import main
from alpinist.errors import ImageError, ManifestError
from alpinist.images.manifest import host_platform
from alpinist.images.oci import DockerArchiveSource, OCILayoutSource
from alpinist.images.tarstream import ARCHIVE_MAX_MEMBERS, ArchiveMember, archive_name, index_archive
from alpinist.inventory.build import build_inventory
from alpinist.models import Inventory

from .conftest import CORPUS, EXPECTED, OCI_LAYOUT, oci_ref, read_tsv

ARCHIVES = CORPUS / "images" / "archives"
DOCKER_TAR = ARCHIVES / "alpine-3.20.3.docker.tar"
OCI_TAR = ARCHIVES / "alpine-3.20.3.oci.tar"
INDEX = {row["tag"]: row for row in read_tsv(EXPECTED / "INDEX.tsv")}
BLOCK = tarfile.BLOCKSIZE
END = bytes(2 * BLOCK)


# --------------------------------------------------------------------------------------------------
# building archives


def header(name: str, size: int = 0, type: bytes = tarfile.REGTYPE, linkname: str = "") -> bytes:
    info = tarfile.TarInfo(name)
    info.type = type
    info.size = size
    info.linkname = linkname
    return info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")


def entry(name: str, data: bytes = b"", type: bytes = tarfile.REGTYPE, linkname: str = "") -> bytes:
    return header(name, len(data), type, linkname) + data + bytes(-len(data) % BLOCK)


def pax(records: bytes) -> bytes:
    """A pax extended header (type ``x``) carrying ``records`` as they are."""
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = tarfile.XHDTYPE
    info.size = len(records)
    return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict") + records + bytes(-len(records) % BLOCK)


def record(key: str, value: bytes) -> bytes:
    """One ``"LEN key=value\\n"`` pax record, LEN counting itself."""
    body = b" " + key.encode() + b"=" + value + b"\n"
    length = len(body) + len(str(len(body)))
    if len(str(length)) != len(str(len(body))):
        length += 1
    out = str(length).encode() + body
    assert len(out) == length
    return out


def write(tmp_path: Path, *parts: bytes, name: str = "hostile.tar") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(parts))
    return path


def docker(path: Path) -> DockerArchiveSource:
    return DockerArchiveSource(str(path), None, reference=f"docker-archive:{path}")


def oci(path: Path) -> OCILayoutSource:
    return OCILayoutSource(
        str(path), None, archive=True, platform=host_platform(), reference=f"oci-archive:{path}"
    )


OPENERS: list[Callable[[Path], object]] = [docker, oci]


def refused(archive: Path, *words: str) -> str:
    """Both transports refuse ``archive`` when they open it: a plain ``ImageError`` (not a blob's error),
    one line starting with the archive's path, holding ``words``."""
    message = ""
    for opener in OPENERS:
        with pytest.raises(ImageError) as info:
            opener(archive)
        assert type(info.value) is ImageError
        message = str(info.value)
        assert message.startswith(f"{archive}: "), message
        assert "\n" not in message
        for word in words:
            assert word in message, message
    return message


# --------------------------------------------------------------------------------------------------
# CVE-2024-6232 and other pax headers


def test_pax_header_with_a_megabyte_of_digits(tmp_path: Path) -> None:
    # CVE-2024-6232: tarfile (3.11.7 here) searches pax data with a regex that is quadratic on digit runs;
    # a 1 MiB header of them takes minutes. Ours parses records in one pass and refuses the run.
    records = record("comment", b"0" * ((1 << 20) - 64))
    assert (1 << 20) - 64 < len(records) <= 1 << 20
    archive = write(tmp_path, pax(records), entry("manifest.json", b"[]"), END)
    refused(archive, "pax header at offset 0", "more than 64 digits")


def test_pax_header_that_is_only_digits(tmp_path: Path) -> None:
    archive = write(tmp_path, pax(b"0" * 500_000), entry("manifest.json", b"[]"), END)
    refused(archive, "pax header at offset 0", "record without a length")


def test_pax_header_above_the_size_limit(tmp_path: Path) -> None:
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = tarfile.XHDTYPE
    info.size = 1 << 30  # the data is not there: refused on the size field alone
    archive = write(tmp_path, info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict"), END)
    refused(archive, f"pax header at offset 0 asks for {1 << 30} bytes")


def test_pax_path_applies_to_the_member_name(tmp_path: Path) -> None:
    """pax ``path`` names the member (tarfile and Go agree); an escaping one is refused like any name."""
    good = write(tmp_path, pax(record("path", b"manifest.json")), entry("ignored", b"[]"), END, name="a.tar")
    assert set(index_archive(good)) == {"manifest.json"}
    bad = write(tmp_path, pax(record("path", b"../manifest.json")), entry("x", b"[]"), END, name="b.tar")
    refused(bad, "escapes the image root")


# --------------------------------------------------------------------------------------------------
# limits


def test_more_members_than_the_limit(tmp_path: Path) -> None:
    # directories may repeat, so one header block written ARCHIVE_MAX_MEMBERS + 1 times reaches the
    # member limit and nothing else
    block = header("d/", type=tarfile.DIRTYPE)
    archive = write(tmp_path, block * (ARCHIVE_MAX_MEMBERS + 1), END)
    refused(archive, f"more than {ARCHIVE_MAX_MEMBERS} tar members")


def test_exactly_the_member_limit_is_read(tmp_path: Path) -> None:
    parts = [entry(f"f{i}", b"x") for i in range(9)] + [header("d/", type=tarfile.DIRTYPE)]
    archive = write(tmp_path, *parts, END)
    assert len(index_archive(archive, max_members=10)) == 9
    with pytest.raises(ImageError, match="more than 9 tar members"):
        index_archive(archive, max_members=9)


def test_member_name_longer_than_the_limit(tmp_path: Path) -> None:
    long = "a/" * 600 + "manifest.json"  # 1,213 bytes, through a GNU long-name header
    archive = write(tmp_path, entry(long, b"[]"), END)
    refused(archive, "longer than 1024 bytes")
    via_pax = write(tmp_path, pax(record("path", long.encode())), entry("x", b"[]"), END, name="p.tar")
    refused(via_pax, "member name of 1213 characters", "longer than 1024 bytes")


def test_names_adding_up_beyond_the_budget(tmp_path: Path) -> None:
    archive = write(tmp_path, *(entry(f"{i:04d}" + "n" * 96) for i in range(20)), END)
    assert len(index_archive(archive, max_names_total=2000)) == 20
    with pytest.raises(ImageError, match="member names add up to more than 1999 bytes"):
        index_archive(archive, max_names_total=1999)


# --------------------------------------------------------------------------------------------------
# names


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("/manifest.json", "absolute member path '/manifest.json'"),
        ("../manifest.json", "escapes the image root"),
        ("blobs/../../etc/passwd", "escapes the image root"),
        ("./..", "escapes the image root"),
    ],
)
def test_escaping_member_names_are_refused(tmp_path: Path, name: str, reason: str) -> None:
    archive = write(tmp_path, entry("oci-layout", b"{}"), entry(name, b"[]"), END)
    refused(archive, reason)


def test_escaping_directory_and_link_names_are_refused_too(tmp_path: Path) -> None:
    as_dir = write(tmp_path, header("/blobs/", type=tarfile.DIRTYPE), END, name="d.tar")
    refused(as_dir, "absolute member path")
    as_link = write(tmp_path, entry("../x", type=tarfile.SYMTYPE, linkname="y"), END, name="l.tar")
    refused(as_link, "escapes the image root")


def test_nul_in_a_pax_path_is_refused(tmp_path: Path) -> None:
    archive = write(tmp_path, pax(record("path", b"index.json\0evil")), entry("x", b"{}"), END)
    refused(archive, "NUL byte in member name")


def test_names_are_normalized_like_layer_members(tmp_path: Path) -> None:
    archive = write(
        tmp_path,
        header("./", type=tarfile.DIRTYPE),
        entry("./index.json", b"{}"),
        entry("blobs//sha256/./x/../abc", b"abc"),
        entry("link", type=tarfile.SYMTYPE, linkname="index.json"),
        END,
    )
    index = index_archive(archive)
    assert sorted(index) == ["blobs/sha256/abc", "index.json"]  # links are not members to read
    assert [archive_name(n) for n in ("./index.json", "a/./b//c/", ".")] == ["index.json", "a/b/c", ""]


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    """Two ``manifest.json``: docker load (extraction) would use the second, skopeo the first."""
    archive = write(tmp_path, entry("manifest.json", b"[]"), entry("./manifest.json", b"[1]"), END)
    message = refused(archive, "two members are named 'manifest.json'", "ambiguous")
    second_at = len(entry("manifest.json", b"[]"))
    assert f"the second at offset {second_at}" in message


def test_a_link_named_like_a_member_is_a_duplicate(tmp_path: Path) -> None:
    archive = write(
        tmp_path, entry("index.json", b"{}"), entry("index.json", type=tarfile.SYMTYPE, linkname="x"), END
    )
    refused(archive, "two members are named 'index.json'")


def test_repeated_directories_are_allowed(tmp_path: Path) -> None:
    d = header("blobs/", type=tarfile.DIRTYPE)
    archive = write(tmp_path, d, entry("blobs/a", b"a"), d, entry("blobs/b", b"bb"), END)
    assert {n: m.size for n, m in index_archive(archive).items()} == {"blobs/a": 1, "blobs/b": 2}


def test_manifest_json_naming_a_path_outside_the_archive(tmp_path: Path) -> None:
    manifest = json.dumps([{"Config": "../config.json", "Layers": []}]).encode()
    archive = write(tmp_path, entry("manifest.json", manifest), END)
    with pytest.raises(ManifestError, match=r"manifest\.json names a path outside the archive"):
        docker(archive).resolve()


# --------------------------------------------------------------------------------------------------
# member types, truncation, not-a-tar


def test_gnu_sparse_member_is_refused(tmp_path: Path) -> None:
    archive = write(tmp_path, header("blobs/sha256/abc", size=512, type=tarfile.GNUTYPE_SPARSE), END)
    refused(archive, "GNU sparse file, which is not supported")


def test_pax_sparse_member_is_refused(tmp_path: Path) -> None:
    records = record("GNU.sparse.major", b"1") + record("GNU.sparse.minor", b"0")
    archive = write(tmp_path, pax(records), entry("blobs/sha256/abc", b"x"), END)
    refused(archive, "describes a GNU sparse file")


def test_sparse_file_written_by_gnu_tar_is_refused(tmp_path: Path) -> None:
    sparse = tmp_path / "src" / "blob"
    sparse.parent.mkdir()
    with sparse.open("wb") as fh:  # 4 MiB of which only the last byte is data
        fh.truncate(4 << 20)
        fh.seek((4 << 20) - 1)
        fh.write(b"x")
    archive = tmp_path / "sparse.tar"
    subprocess.run(["tar", "--sparse", "-cf", str(archive), "-C", str(sparse.parent), "blob"], check=True)
    with tarfile.open(archive) as tar:  # the premise: GNU tar wrote a sparse member
        assert tar.getmembers()[0].type == tarfile.GNUTYPE_SPARSE
    refused(archive, "GNU sparse file")


@pytest.mark.parametrize(
    ("cut", "words"),
    [
        (0, ("the tar stream is empty",)),
        (100, ("invalid tar header at offset 0: truncated to 100 of 512 bytes",)),
        (BLOCK + 10, ("truncated: member 'manifest.json'",)),
    ],
)
def test_truncated_small_archive(tmp_path: Path, cut: int, words: tuple[str, ...]) -> None:
    whole = entry("manifest.json", b"[" + b" " * 700 + b"]") + END
    archive = write(tmp_path, whole[:cut])
    refused(archive, *words)


def test_truncated_real_archive(tmp_path: Path) -> None:
    """The corpus' docker-archive cut in its first layer: the member's end lies beyond the file."""
    with tarfile.open(DOCKER_TAR) as tar:  # where the layer is, from an independent reader
        layer = max(tar.getmembers(), key=lambda m: m.size)
    cut = layer.offset_data + layer.size // 2
    archive = tmp_path / "cut.tar"
    archive.write_bytes(DOCKER_TAR.read_bytes()[:cut])
    refused(archive, f"truncated: member {layer.name!r} claims {layer.size} bytes", f"offset {cut}")


def test_not_a_tar(tmp_path: Path) -> None:
    archive = write(tmp_path, b"<html>" + bytes(2000))
    refused(archive, "invalid tar header at offset 0: bad checksum")


def test_garbage_after_the_end_of_the_archive(tmp_path: Path) -> None:
    archive = write(tmp_path, entry("manifest.json", b"[]"), END, b"\1" + bytes(BLOCK - 1))
    refused(archive, "data after the end of the tar archive")


def test_compressed_archive_is_refused_with_a_hint(tmp_path: Path) -> None:
    archive = write(tmp_path, gzip.compress(OCI_TAR.read_bytes(), mtime=0), name="a.tar.gz")
    refused(archive, "gzip-compressed", "decompress it first")


def test_a_tar_whose_first_name_looks_like_a_compression_magic_is_read(tmp_path: Path) -> None:
    archive = write(tmp_path, entry("BZh91AY&SY", b"x"), END)
    assert list(index_archive(archive)) == ["BZh91AY&SY"]


def test_cli_reports_a_hostile_archive_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = write(tmp_path, pax(record("comment", b"0" * 200_000)), entry("manifest.json", b"[]"), END)
    with pytest.raises(SystemExit) as exc:
        main(["sbom", f"docker-archive:{archive}", "--no-cache"])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(archive) in err and "more than 64 digits" in err


# --------------------------------------------------------------------------------------------------
# real archives


def tarfile_index(path: Path) -> dict[str, tuple[int, int]]:
    """The regular members of a trusted archive as ``tarfile`` (an independent reader) sees them."""
    with tarfile.open(path) as tar:
        return {archive_name(m.name): (m.offset_data, m.size) for m in tar.getmembers() if m.isreg()}


@pytest.mark.parametrize("path", [DOCKER_TAR, OCI_TAR], ids=["docker", "oci"])
def test_index_of_corpus_archives_matches_tarfile(path: Path) -> None:
    index = index_archive(path)
    assert {n: (m.data_offset, m.size) for n, m in index.items()} == tarfile_index(path)
    assert all(isinstance(m, ArchiveMember) and m.name == n for n, m in index.items())


def test_members_across_read_chunks_are_indexed(tmp_path: Path) -> None:
    """Members larger and smaller than the index's read size, so data is both skipped in the buffer and
    sought past; offsets checked against tarfile's and the bytes read back through a source."""
    big = bytes(range(256)) * 1100  # 281,600 bytes, several read chunks
    parts = [
        entry("small", b"s" * 10),
        entry("big", big),
        entry("after", b"a" * 513),
        entry("big2", big[:70000]),
    ]
    archive = write(tmp_path, *parts, END, bytes(8 * BLOCK))  # zero padding to a record, as tar writes
    index = index_archive(archive)
    assert {n: (m.data_offset, m.size) for n, m in index.items()} == tarfile_index(archive)
    with archive.open("rb") as fh:
        fh.seek(index["big"].data_offset)
        assert fh.read(index["big"].size) == big


def _skopeo(src: str, dest: str) -> None:
    subprocess.run(["skopeo", "copy", "-q", src, dest], check=True)


def _repack_with_gnu_tar(archive: Path, dest: Path, fmt: str) -> None:
    """Unpack a trusted archive (made by skopeo in tmp) and pack it again with GNU tar from ``.``, so
    every name starts with ``./`` and, in pax format, every member has a pax header."""
    tree = dest.with_suffix(".d")
    tree.mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(tree)], check=True)
    subprocess.run(["tar", f"--format={fmt}", "-cf", str(dest), "-C", str(tree), "."], check=True)
    shutil.rmtree(tree)


def _identity(inv: Inventory) -> tuple[object, ...]:
    f = inv.image
    return (
        inv.os,
        tuple((p.type, p.name, p.version, p.purl, p.layer, p.origin, p.locations) for p in inv.packages),
        f.config_digest,
        tuple((li.diff_id, li.uncompressed_size) for li in f.layers),
    )


@pytest.fixture(scope="module")
def python_app_archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tag = "python-app:alpine"
    work = tmp_path_factory.mktemp("archives")
    made = {"skopeo-docker": work / "app.docker.tar", "skopeo-oci": work / "app.oci.tar"}
    _skopeo(f"oci:{OCI_LAYOUT}:{tag}", f"docker-archive:{made['skopeo-docker']}:{tag}")
    _skopeo(f"oci:{OCI_LAYOUT}:{tag}", f"oci-archive:{made['skopeo-oci']}:{tag}")
    made["gnu-pax-docker"] = work / "app.pax.docker.tar"
    _repack_with_gnu_tar(made["skopeo-docker"], made["gnu-pax-docker"], "pax")
    made["gnu-oci"] = work / "app.gnu.oci.tar"
    _repack_with_gnu_tar(made["skopeo-oci"], made["gnu-oci"], "gnu")
    return made


@pytest.fixture(scope="module")
def layout_inventory() -> Inventory:
    return build_inventory(oci_ref("python-app:alpine"), use_cache=False)


@pytest.mark.parametrize("kind", ["skopeo-docker", "skopeo-oci", "gnu-pax-docker", "gnu-oci"])
def test_real_archives_give_the_layouts_inventory(
    python_app_archives: dict[str, Path], layout_inventory: Inventory, kind: str
) -> None:
    tag = "python-app:alpine"
    archive = python_app_archives[kind]
    transport = "docker-archive" if "docker" in kind else "oci-archive"
    if kind.startswith("gnu"):  # the premise: names start with "./" (and pax headers for --format=pax)
        with tarfile.open(archive) as tar:
            names = tar.getnames()
            assert all(n == "." or n.startswith("./") for n in names)
            if "pax" in kind:
                assert all(m.pax_headers for m in tar.getmembers() if m.isreg())
    got = build_inventory(f"{transport}:{archive}", use_cache=False)
    assert _identity(got) == _identity(layout_inventory)
    assert got.image.config_digest == INDEX[tag]["config_digest"]
    rows = read_tsv(EXPECTED / "python-app_alpine" / "layers.tsv")
    assert [li.diff_id for li in got.image.layers] == [row["diff_id"] for row in rows]
    if transport == "oci-archive":
        assert got.image.manifest_digest == INDEX[tag]["manifest_digest"]


def test_skopeo_docker_archive_keeps_its_legacy_symlinks_out_of_the_index(
    python_app_archives: dict[str, Path],
) -> None:
    """skopeo writes ``<id>/layer.tar`` symlinks beside the real layers: they are not blobs to read, and
    every layer manifest.json names is a regular member."""
    archive = python_app_archives["skopeo-docker"]
    with tarfile.open(archive) as tar:
        links = [archive_name(m.name) for m in tar.getmembers() if m.issym()]
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    index = index_archive(archive)
    assert links and not set(links) & set(index)
    layer_names = manifest[0]["Layers"]
    assert len(layer_names) == int(INDEX["python-app:alpine"]["layers"])
    assert all(name in index for name in layer_names)
