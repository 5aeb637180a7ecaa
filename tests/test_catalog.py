"""The catalogers end to end over the five real corpus images, against the corpus' ground truth.

The view is built by the production layer reader from the OCI layout (blobs verified, streamed,
whiteouts applied, nothing extracted to disk).
"""

from __future__ import annotations

import functools

import pytest

from alpinist.images.layers import build_view
from alpinist.images.oci import OCILayoutSource
from alpinist.images.view import FileEntry, FileView, PathSelector
from alpinist.inventory.catalog import default_catalogers, run_catalogers, selector_for
from alpinist.inventory.facts import find_package_managers, find_shell
from alpinist.inventory.osrelease import parse_os_release
from alpinist.models import OSInfo, Package, Platform

from .conftest import OCI_LAYOUT, TAGS, expected_dir, oci_ref, read_tsv


def build_test_view(tag: str, selector: PathSelector) -> tuple[FileView, tuple[str, ...], tuple[str, ...]]:
    """(view, layer diff_ids, config env) of ``tag`` in the corpus layout, read by the layer reader."""
    source = OCILayoutSource(str(OCI_LAYOUT), tag, archive=False, platform=Platform(), reference=oci_ref(tag))
    try:
        resolved = source.resolve()
        view, layers = build_view(source, resolved, selector)
    finally:
        source.close()
    diff_ids = tuple(layer.diff_id or layer.digest for layer in layers)
    env = tuple(resolved.config.get("config", {}).get("Env") or ())
    return view, diff_ids, env


@functools.cache
def inventory(
    tag: str,
) -> tuple[FileView, tuple[str, ...], tuple[str, ...], OSInfo | None, tuple[Package, ...]]:
    catalogers = default_catalogers()
    view, diff_ids, env = build_test_view(tag, selector_for(catalogers))
    os_info, packages = run_catalogers(view, env, diff_ids, catalogers)
    return view, diff_ids, env, os_info, packages


def os_rows(packages: tuple[Package, ...]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for p in packages:
        if p.type == "apk":
            rows.append((p.name, p.version, p.origin or "", p.arch or ""))
        elif p.type == "deb":
            rows.append((p.name, p.version, p.origin or "", p.source_version or "", p.arch or ""))
    return sorted(rows)


@pytest.mark.parametrize("tag", TAGS)
def test_os_packages_equal_ground_truth(tag: str) -> None:
    truth = sorted(tuple(row.values()) for row in read_tsv(expected_dir(tag) / "packages.tsv"))
    *_, packages = inventory(tag)
    assert os_rows(packages) == truth


@pytest.mark.parametrize("tag", TAGS)
def test_python_distributions_equal_ground_truth(tag: str) -> None:
    truth = sorted((r["name"], r["version"], r["path"]) for r in read_tsv(expected_dir(tag) / "python.tsv"))
    *_, packages = inventory(tag)
    found = sorted((p.name, p.version, p.locations[0]) for p in packages if p.type == "python")
    assert found == truth


@pytest.mark.parametrize("tag", TAGS)
def test_os_identity_equals_os_release_and_distro_version(tag: str) -> None:
    fields = parse_os_release((expected_dir(tag) / "os-release").read_text(encoding="utf-8"))
    distro_version = (expected_dir(tag) / "distro-version").read_text(encoding="utf-8").strip()
    _, _, _, os_info, _ = inventory(tag)
    assert os_info is not None
    assert (os_info.id, os_info.version_id, os_info.version) == (
        fields["ID"],
        fields["VERSION_ID"],
        distro_version,
    )
    assert os_info.codename == fields.get("VERSION_CODENAME")
    assert os_info.pretty_name == fields["PRETTY_NAME"]


@pytest.mark.parametrize("tag", TAGS)
def test_purls_carry_the_distro_and_are_unique(tag: str) -> None:
    _, _, _, os_info, packages = inventory(tag)
    assert os_info is not None
    for p in packages:
        if p.type in ("apk", "deb"):
            assert p.purl.startswith(f"pkg:{p.type}/{os_info.id}/")
            assert f"distro={os_info.id}-{os_info.version_id}" in p.purl
        assert p.layer is not None and p.layer_index is not None
    keys = [p.key for p in packages]
    assert len(keys) == len(set(keys))


def test_python_app_alpine_has_the_unpackaged_cpython_3_11_2() -> None:
    _, diff_ids, _, _, packages = inventory("python-app:alpine")
    binaries = [p for p in packages if p.type == "binary"]
    assert [(p.name, p.version, p.purl) for p in binaries] == [
        ("python", "3.11.2", "pkg:generic/python@3.11.2")
    ]
    cpython = binaries[0]
    assert cpython.cpes == ("cpe:2.3:a:python:python:3.11.2:*:*:*:*:*:*:*",)
    assert cpython.locations[0] == "/usr/local/bin/python3.11"
    assert "ENV PYTHON_VERSION=3.11.2" in cpython.evidence
    assert any("patchlevel.h" in e and "3.11.2" in e for e in cpython.evidence)
    # layers.tsv: layer 1 is the COPY of the musl CPython build into /usr/local
    assert (cpython.layer_index, cpython.layer) == (1, diff_ids[1])


@pytest.mark.parametrize("tag", ["python-app:debian", "debian:12-slim", "alpine:3.20.3"])
def test_no_cpython_binary_where_python_is_packaged_or_absent(tag: str) -> None:
    *_, packages = inventory(tag)
    assert [p for p in packages if p.type == "binary"] == []


def test_python_app_debian_dpkg_owned_distributions_name_their_owner() -> None:
    *_, packages = inventory("python-app:debian")
    owners = {p.locations[0]: p.owner for p in packages if p.type == "python"}
    # DIFFS.md: pip, setuptools and wheel under dist-packages are owned by python3-pip/-setuptools/-wheel
    assert owners["/usr/lib/python3/dist-packages/pip-23.0.1.dist-info"] == "deb:python3-pip"
    assert owners["/usr/lib/python3/dist-packages/setuptools-66.1.1.egg-info"] == "deb:python3-setuptools"
    assert owners["/usr/lib/python3/dist-packages/wheel-0.38.4.egg-info"] == "deb:python3-wheel"
    venv = {loc: o for loc, o in owners.items() if loc.startswith("/opt/venv/")}
    assert len(venv) == 8 and set(venv.values()) == {None}
    assert not any(p.vendored for p in packages)


def test_python_app_debian_layers_follow_the_build_history() -> None:
    """layers.tsv: layer 1 is the apt-get install, layer 3 the venv; base packages stay in layer 0."""
    _, diff_ids, _, _, packages = inventory("python-app:debian")
    base = {(r["name"], r["version"]) for r in read_tsv(expected_dir("debian:12-slim") / "packages.tsv")}
    debs = [p for p in packages if p.type == "deb"]
    assert len(debs) == 132
    for p in debs:
        expected = 0 if (p.name, p.version) in base else 1
        assert (p.name, p.layer_index, p.layer) == (p.name, expected, diff_ids[expected])
    for p in packages:
        if p.type == "python":
            expected = 3 if p.locations[0].startswith("/opt/venv/") else 1
            assert (p.name, p.layer_index) == (p.name, expected)


def test_python_app_alpine_layers_follow_the_build_history() -> None:
    """Dockerfile: apk packages come with the base (0), the wheels are unpacked in layer 2."""
    _, diff_ids, _, _, packages = inventory("python-app:alpine")
    assert {p.layer_index for p in packages if p.type == "apk"} == {0}
    assert {(p.layer_index, p.layer) for p in packages if p.type == "python"} == {(2, diff_ids[2])}


def test_apk_origin_groups_openssl_libraries() -> None:
    *_, packages = inventory("alpine:3.20.3")
    by_name = {p.name: p for p in packages}
    assert by_name["libssl3"].origin == by_name["libcrypto3"].origin == "openssl"
    assert by_name["libssl3"].purl == (
        "pkg:apk/alpine/libssl3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3&upstream=openssl"
    )
    assert by_name["busybox"].purl == "pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=alpine-3.20.3"
    assert "/bin/busybox" in by_name["busybox"].files
    assert by_name["busybox"].locations == ("/lib/apk/db/installed",)


def test_dpkg_purls_and_files_on_debian() -> None:
    *_, packages = inventory("debian:12-slim")
    by_name = {p.name: p for p in packages}
    # the forms syft prints for the same image (expected/debian_12-slim/syft.json)
    libc6 = by_name["libc6"]
    assert libc6.purl == (
        f"pkg:deb/debian/libc6@{libc6.version.replace('+', '%2B')}?arch=amd64&distro=debian-12&upstream=glibc"
    )
    assert by_name["login"].purl.startswith("pkg:deb/debian/login@1:4.13%2Bdfsg1-1%2Bdeb12u2?arch=amd64")
    assert "/usr/bin/dpkg" in by_name["dpkg"].files
    assert "/var/lib/dpkg/info/libc6:amd64.list" in libc6.locations


@pytest.mark.parametrize(
    ("tag", "managers"),
    [
        ("alpine:3.20.3", ("apk",)),
        ("debian:12-slim", ("apt", "apt-get", "dpkg")),
        ("python-app:debian", ("apt", "apt-get", "dpkg", "pip", "pip3")),
        ("python-app:alpine", ("apk",)),
    ],
)
def test_image_facts_shell_and_package_managers(tag: str, managers: tuple[str, ...]) -> None:
    view, *_ = inventory(tag)
    assert find_shell(view) == "/bin/sh"
    assert find_package_managers(view) == managers


def test_selector_covers_os_files_and_every_cataloger() -> None:
    compiled = selector_for(default_catalogers()).compile()
    for path in (
        "/etc/os-release",
        "/usr/lib/os-release",
        "/etc/alpine-release",
        "/etc/debian_version",
        "/lib/apk/db/installed",
        "/usr/lib/apk/db/installed",
        "/var/lib/dpkg/status",
        "/var/lib/dpkg/status.d/libssl3",
        "/var/lib/dpkg/info/libc6:amd64.list",
        "/opt/venv/lib/python3.11/site-packages/Jinja2-2.11.2.dist-info/METADATA",
        "/usr/lib/python3/dist-packages/six-1.16.0.egg-info",
        "/usr/local/include/python3.11/patchlevel.h",
    ):
        assert compiled.wants(path), path
    assert not compiled.wants("/usr/bin/python3.11")
    assert compiled.keep_history >= {"/var/lib/dpkg/status", "/lib/apk/db/installed"}


def test_multiarch_packages_sort_deterministically() -> None:
    text = "".join(
        f"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nArchitecture: {arch}\nSource: glibc\n\n"
        for arch in ("i386", "amd64")
    ).encode()
    entry = FileEntry(
        path="/var/lib/dpkg/status", kind="file", size=len(text), mode=0o644, layer=0, content=text
    )
    _, packages = run_catalogers(FileView(entries={entry.path: entry}), (), ("sha256:l0",))
    assert [(p.name, p.arch) for p in packages] == [("libc6", "amd64"), ("libc6", "i386")]
