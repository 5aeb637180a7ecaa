"""The sbom output formats: alpinist JSON, CycloneDX 1.6, SPDX 2.3, the rich table.

Inventories are built by hand from the corpus' ground truth (expected/<tag>/layers.tsv,
config.json, packages.tsv, python.tsv) plus a few hand-written packages for cases the corpus
images do not hold (a vendored distribution, a hostile name).
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rich.console import Console

from alpinist import __version__
from alpinist.inventory.serialize import inventory_from_dict, inventory_to_dict
from alpinist.models import (
    Healthcheck,
    ImageFacts,
    Inventory,
    LayerInfo,
    OSInfo,
    Package,
    Platform,
)
from alpinist.reports.sbom.cyclonedx import render_cyclonedx
from alpinist.reports.sbom.json import load_schema, render_json
from alpinist.reports.sbom.spdx import render_spdx
from alpinist.reports.sbom.table import render_table

from .conftest import REPO, expected_dir, read_tsv

SCHEMAS = REPO / "src" / "alpinist" / "schemas"
CREATED = datetime(2026, 11, 27, 9, 30, 0, tzinfo=UTC)
SERIAL = uuid.UUID("6f1c3e0a-2b7d-4c55-9a51-0d2f7e9b1c44")

ALPINE_MANIFEST = "sha256:17064d1404904a94dadac25dcf157649c45861c5fa5425a36389a1c4b7e8fa19"
DEBIAN_MANIFEST = "sha256:fad3a445b3af7fa35e87b95c163331256542645dd3b54c80d418aa89eb8fc29b"
ALPINE_BASE_DIFF = "sha256:1bccf10afce5c1ffe31381419930ad565c1436eaeb1ca680494b0663e0028419"
ALPINE_USRLOCAL_DIFF = "sha256:91ae00defa85aba3c6d746538f1bfebe35992c2cccd14e5b19781ccfe4f4a4a1"
ALPINE_WHEELS_DIFF = "sha256:06fbc962518a52bdd5c8cf7384c2b2ac1adc290a1ddad04d12fe1659fe8623cd"
DEBIAN_BASE_DIFF = "sha256:b77ea8e26e9bbe1d481ae67898ec8041af613b122d8383e9526b3d2f56b63c88"
DEBIAN_APT_DIFF = "sha256:00a66f6d60c537f3082680e67b7df6e459c304b34ecbb5be5c93b82c2573aecd"
DEBIAN_VENV_DIFF = "sha256:4a94ce85df7dbe132600105d7e735838637f141a6e70cd7eab22e658db446394"
CPYTHON_CPE = "cpe:2.3:a:python:python:3.11.2:*:*:*:*:*:*:*"


# ------------------------------------------------------------------------------------------ fixtures


def _facts(tag: str, **overrides: Any) -> ImageFacts:
    """Image facts of a corpus image, from its expected/ files."""
    exp = expected_dir(tag)
    cfg = json.loads((exp / "config.json").read_text(encoding="utf-8"))
    layers = tuple(
        LayerInfo(
            index=int(row["index"]),
            digest=row["digest"],
            media_type="application/vnd.oci.image.layer.v1.tar+gzip",
            compressed_size=int(row["compressed_size"]),
            uncompressed_size=int(row["uncompressed_size"]),
            diff_id=row["diff_id"],
            created_by=row["created_by"],
        )
        for row in read_tsv(exp / "layers.tsv")
    )
    hc = cfg["healthcheck"]
    facts = ImageFacts(
        reference=f"oci:/work/shared/corpus/images/oci:{tag}",
        transport="oci",
        name=f"docker.io/library/{tag}",
        manifest_digest=cfg["manifest_digest"],
        config_digest=cfg["config_digest"],
        media_type="application/vnd.oci.image.manifest.v1+json",
        platform=Platform(cfg["os"], cfg["architecture"]),
        created=cfg["created"],
        layers=layers,
        user=cfg["user"],
        healthcheck=Healthcheck(test=tuple(hc["Test"])) if hc else None,
        entrypoint=tuple(cfg["entrypoint"]) if cfg["entrypoint"] is not None else None,
        cmd=tuple(cfg["cmd"]) if cfg["cmd"] is not None else None,
        env=tuple(cfg["env"]),
        exposed_ports=tuple(cfg["exposed_ports"]),
        working_dir=cfg["working_dir"],
        labels=(("io.buildah.version", "1.28.2"),),
    )
    return dataclasses.replace(facts, **overrides)


def alpine_inventory() -> Inventory:
    facts = _facts("python-app:alpine", shell="/bin/sh", package_managers=("apk", "pip"))
    db = "/lib/apk/db/installed"

    def apk(name: str, version: str, origin: str, lic: str) -> Package:
        return Package(
            name=name,
            version=version,
            type="apk",
            purl=f"pkg:apk/alpine/{name}@{version}?arch=x86_64&distro=alpine-3.20.3",
            layer=ALPINE_BASE_DIFF,
            layer_index=0,
            arch="x86_64",
            origin=origin,
            licenses=(lic,),
            locations=(db,),
        )

    site = "/usr/local/lib/python3.11/site-packages"
    return Inventory(
        image=facts,
        os=OSInfo("alpine", "3.20.3", "3.20.3", None, "Alpine Linux v3.20"),
        packages=(
            dataclasses.replace(
                apk("libssl3", "3.3.2-r0", "openssl", "Apache-2.0"),
                files=("usr/lib/libssl.so.3", "lib/libssl.so.3"),
                metadata=(("maintainer", "Natanael Copa <ncopa@alpinelinux.org>"),),
            ),
            apk("musl", "1.2.5-r0", "musl", "MIT"),
            apk("busybox", "1.36.1-r29", "busybox", "GPL-2.0-only"),
            Package(
                name="requests",
                version="2.32.3",
                type="python",
                purl="pkg:pypi/requests@2.32.3",
                layer=ALPINE_WHEELS_DIFF,
                layer_index=2,
                licenses=("Apache 2.0",),  # free text, as in its METADATA License: field
                locations=(f"{site}/requests-2.32.3.dist-info",),
            ),
            Package(
                name="Jinja2",
                version="3.1.4",
                type="python",
                purl="pkg:pypi/jinja2@3.1.4",
                layer=ALPINE_WHEELS_DIFF,
                layer_index=2,
                licenses=("BSD-3-Clause",),
                locations=(f"{site}/jinja2-3.1.4.dist-info",),
            ),
            Package(  # hand-written: a copy vendored inside another distribution
                name="packaging",
                version="24.0",
                type="python",
                purl="pkg:pypi/packaging@24.0",
                layer=ALPINE_WHEELS_DIFF,
                layer_index=2,
                licenses=("Apache-2.0 OR BSD-2-Clause",),
                locations=(f"{site}/setuptools/_vendor/packaging-24.0.dist-info",),
                owner="pypi:setuptools",
                vendored=True,
            ),
            Package(
                name="python",
                version="3.11.2",
                type="binary",
                purl="pkg:generic/python@3.11.2",
                layer=ALPINE_USRLOCAL_DIFF,
                layer_index=1,
                licenses=("Python-2.0",),
                locations=("/usr/local/bin/python3.11",),
                cpes=(CPYTHON_CPE, "cpe:2.3:a:python_software_foundation:python:3.11.2:*:*:*:*:*:*:*"),
                evidence=("ENV PYTHON_VERSION=3.11.2", "/usr/local/bin/python3.11"),
            ),
        ),
    )


def debian_inventory() -> Inventory:
    facts = _facts("python-app:debian", shell="/bin/sh", package_managers=("apt", "dpkg", "pip"))
    status = "/var/lib/dpkg/status"
    venv = "/opt/venv/lib/python3.11/site-packages"
    return Inventory(
        image=facts,
        os=OSInfo("debian", "12", "12.15", "bookworm", "Debian GNU/Linux 12 (bookworm)"),
        packages=(
            Package(
                name="bsdutils",
                version="1:2.38.1-5+deb12u3",
                type="deb",
                purl="pkg:deb/debian/bsdutils@2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12&epoch=1",
                layer=DEBIAN_BASE_DIFF,
                layer_index=0,
                arch="amd64",
                origin="util-linux",
                source_version="2.38.1-5+deb12u3",
                licenses=("GPL-2+", "BSD-4-Clause"),  # Debian copyright short names: one is not SPDX
                locations=(status,),
            ),
            Package(
                name="libc-bin",
                version="2.36-9+deb12u14",
                type="deb",
                purl="pkg:deb/debian/libc-bin@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12",
                layer=DEBIAN_BASE_DIFF,
                layer_index=0,
                arch="amd64",
                origin="glibc",
                source_version="2.36-9+deb12u14",
                licenses=("LGPL-2.1-or-later", "GPL-2.0-or-later"),
                locations=(status,),
            ),
            Package(
                name="python3-pip",
                version="23.0.1+dfsg-1",
                type="deb",
                purl="pkg:deb/debian/python3-pip@23.0.1%2Bdfsg-1?arch=all&distro=debian-12",
                layer=DEBIAN_APT_DIFF,
                layer_index=1,
                arch="all",
                origin="python-pip",
                source_version="23.0.1+dfsg-1",
                locations=(status,),
            ),
            Package(
                name="pip",
                version="23.0.1",
                type="python",
                purl="pkg:pypi/pip@23.0.1",
                layer=DEBIAN_APT_DIFF,
                layer_index=1,
                licenses=("MIT",),
                locations=("/usr/lib/python3/dist-packages/pip-23.0.1.dist-info",),
                owner="deb:python3-pip",
            ),
            Package(
                name="pip",
                version="23.0.1",
                type="python",
                purl="pkg:pypi/pip@23.0.1",
                layer=DEBIAN_VENV_DIFF,
                layer_index=3,
                licenses=("MIT",),
                locations=(f"{venv}/pip-23.0.1.dist-info",),
            ),
            Package(
                name="MarkupSafe",
                version="1.1.1",
                type="python",
                purl="pkg:pypi/markupsafe@1.1.1",
                layer=DEBIAN_VENV_DIFF,
                layer_index=3,
                licenses=("BSD-3-Clause",),
                locations=(f"{venv}/MarkupSafe-1.1.1.egg-info",),
            ),
        ),
    )


INVENTORIES = {"alpine": alpine_inventory, "debian": debian_inventory}


@pytest.fixture(params=sorted(INVENTORIES))
def inventory(request: pytest.FixtureRequest) -> Inventory:
    return INVENTORIES[request.param]()


def _by_name(items: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [item for item in items if item["name"] == name]


def _one(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = _by_name(items, name)
    assert len(found) == 1, f"{name}: {len(found)} entries"
    return found[0]


# -------------------------------------------------------------------------------------- our own JSON


def test_json_validates_against_our_schema(inventory: Inventory) -> None:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for include_files in (False, True):
        doc = json.loads(render_json(inventory, include_files=include_files))
        jsonschema.Draft202012Validator(schema).validate(doc)


def test_json_round_trip_gives_the_same_inventory(inventory: Inventory) -> None:
    doc = json.loads(render_json(inventory, include_files=True))
    back = inventory_from_dict(doc)
    assert back == inventory
    # metadata does not take part in equality: check it separately
    assert [p.metadata for p in back.packages] == [p.metadata for p in inventory.packages]
    assert inventory_from_dict(inventory_to_dict(inventory)) == inventory


def test_json_leaves_files_out_unless_asked() -> None:
    inv = alpine_inventory()
    doc = json.loads(render_json(inv))
    assert all("files" not in p for p in doc["packages"])
    with_files = json.loads(render_json(inv, include_files=True))
    assert _one(with_files["packages"], "libssl3")["files"] == ["usr/lib/libssl.so.3", "lib/libssl.so.3"]
    back = inventory_from_dict(doc)
    assert all(p.files == () for p in back.packages)


def test_json_fields_per_package_world() -> None:
    alpine = json.loads(render_json(alpine_inventory()))
    assert alpine["schema"] == "alpinist-sbom/1"
    ssl = _one(alpine["packages"], "libssl3")
    assert ssl["origin"] == "openssl"
    assert "source" not in ssl and "owner" not in ssl
    assert ssl["layer"] == ALPINE_BASE_DIFF and ssl["layer_index"] == 0
    vendored = _one(alpine["packages"], "packaging")
    assert vendored["vendored"] is True and vendored["owner"] == "pypi:setuptools"
    cpython = _one(alpine["packages"], "python")
    assert cpython["cpes"][0] == CPYTHON_CPE
    assert cpython["evidence"] == ["ENV PYTHON_VERSION=3.11.2", "/usr/local/bin/python3.11"]
    assert alpine["summary"] == {"packages": 7, "by_type": {"apk": 3, "deb": 0, "python": 3, "binary": 1}}

    debian = json.loads(render_json(debian_inventory()))
    bsd = _one(debian["packages"], "bsdutils")
    assert bsd["source"] == "util-linux" and bsd["source_version"] == "2.38.1-5+deb12u3"
    assert "origin" not in bsd
    dpkg_pip = [p for p in _by_name(debian["packages"], "pip") if p["owner"]]
    assert [p["owner"] for p in dpkg_pip] == ["deb:python3-pip"]
    assert debian["os"]["codename"] == "bookworm" and debian["os"]["release"] == "12"


def test_json_image_facts() -> None:
    img = json.loads(render_json(alpine_inventory()))["image"]
    assert img["manifest_digest"] == ALPINE_MANIFEST
    assert img["platform"] == {"os": "linux", "architecture": "amd64", "variant": None}
    assert img["user"] == "nonroot:nonroot" and img["runs_as_root"] is False
    assert img["healthcheck"]["test"][0] == "CMD-SHELL"
    assert img["healthcheck"]["command"].startswith('python3 -c "import urllib.request;')
    # the corpus README: python-app:alpine has 5 layers, 14,555,546 compressed bytes
    assert len(img["layers"]) == 5 and img["compressed_size"] == 14_555_546
    assert img["labels"] == {"io.buildah.version": "1.28.2"}
    assert img["layers"][1]["diff_id"] == ALPINE_USRLOCAL_DIFF

    debian_img = json.loads(render_json(dataclasses.replace(debian_inventory())))["image"]
    assert debian_img["user"] == "appuser" and debian_img["runs_as_root"] is False
    root = dataclasses.replace(debian_inventory().image, user="")
    assert json.loads(render_json(Inventory(root, None, ())))["image"]["runs_as_root"] is True


def test_json_schema_is_not_vacuous() -> None:
    validator = jsonschema.Draft202012Validator(load_schema())
    good = json.loads(render_json(debian_inventory()))
    assert validator.is_valid(good)

    deb_with_origin = json.loads(json.dumps(good))
    deb_with_origin["packages"][0]["origin"] = "util-linux"
    apk_without_origin = json.loads(render_json(alpine_inventory()))
    del apk_without_origin["packages"][0]["origin"]
    bad_digest = json.loads(json.dumps(good))
    bad_digest["image"]["layers"][0]["digest"] = "not a digest"
    unknown_field = json.loads(json.dumps(good))
    unknown_field["packages"][0]["colour"] = "blue"
    for bad in (deb_with_origin, apk_without_origin, bad_digest, unknown_field):
        assert not validator.is_valid(bad)


def test_json_reader_rejects_bad_documents() -> None:
    good = inventory_to_dict(alpine_inventory())
    with pytest.raises(ValueError, match="alpinist-sbom/2"):
        inventory_from_dict({**good, "schema": "alpinist-sbom/2"})
    broken = json.loads(json.dumps(good))
    del broken["packages"][2]["name"]
    with pytest.raises(ValueError, match=re.escape(r"$.packages[2].name: missing")):
        inventory_from_dict(broken)
    broken = json.loads(json.dumps(good))
    broken["image"]["layers"][0]["compressed_size"] = "3490290"
    with pytest.raises(ValueError, match=re.escape("$.image.layers[0].compressed_size: expected an integer")):
        inventory_from_dict(broken)
    broken = json.loads(json.dumps(good))
    broken["packages"][0]["type"] = "rpm"
    with pytest.raises(ValueError, match="unknown package type 'rpm'"):
        inventory_from_dict(broken)


def test_docs_describe_every_schema_field() -> None:
    doc = (REPO / "docs" / "sbom-json.md").read_text(encoding="utf-8")
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                names.add(key)
                walk(sub)
            for sub in node.values():
                walk(sub)
        elif isinstance(node, list):
            for sub in node:
                walk(sub)

    walk(load_schema())
    assert len(names) > 50
    missing = sorted(n for n in names if f"`{n}`" not in doc)
    assert not missing, f"fields of sbom.schema.json not documented in docs/sbom-json.md: {missing}"


# ----------------------------------------------------------------------------------------- CycloneDX


def _cdx(inv: Inventory) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render_cyclonedx(inv, serial_number=SERIAL, timestamp=CREATED))
    return doc


def _props(component: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for prop in component.get("properties", []):
        out.setdefault(prop["name"], []).append(prop["value"])
    return out


def test_cyclonedx_is_valid_1_6(inventory: Inventory) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = render_cyclonedx(inventory, serial_number=SERIAL, timestamp=CREATED)
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    assert errors is None, [str(e) for e in errors] if errors else None
    doc = json.loads(text)
    assert doc["specVersion"] == "1.6" and doc["bomFormat"] == "CycloneDX"
    assert doc["serialNumber"] == f"urn:uuid:{SERIAL}"
    assert doc["metadata"]["tools"]["components"][0]["name"] == "alpinist"
    assert doc["metadata"]["tools"]["components"][0]["version"] == __version__


def test_cyclonedx_image_and_os_components() -> None:
    doc = _cdx(alpine_inventory())
    image = doc["metadata"]["component"]
    assert image["type"] == "container"
    assert image["name"] == "docker.io/library/python-app:alpine"
    assert image["version"] == ALPINE_MANIFEST
    # oci purl: last path segment as name, digest as version; no repository_url for a local layout
    assert image["purl"] == f"pkg:oci/python-app@{ALPINE_MANIFEST}?arch=amd64&tag=alpine"
    assert image["bom-ref"] == image["purl"]
    assert image["hashes"] == [{"alg": "SHA-256", "content": ALPINE_MANIFEST.removeprefix("sha256:")}]
    props = _props(image)
    assert props["alpinist:image:user"] == ["nonroot:nonroot"]
    assert props["alpinist:image:runs_as_root"] == ["false"]
    assert props["alpinist:image:layer:1:diff_id"] == [ALPINE_USRLOCAL_DIFF]

    os_components = [c for c in doc["components"] if c["type"] == "operating-system"]
    assert len(os_components) == 1
    assert os_components[0]["name"] == "alpine" and os_components[0]["version"] == "3.20.3"
    assert os_components[0]["description"] == "Alpine Linux v3.20"


def test_cyclonedx_registry_image_purl_has_repository_url() -> None:
    inv = alpine_inventory()
    inv = dataclasses.replace(
        inv,
        image=dataclasses.replace(
            inv.image,
            reference="127.0.0.1:5000/team/python-app:alpine",
            transport="registry",
            name="127.0.0.1:5000/team/python-app:alpine",
        ),
    )
    purl = _cdx(inv)["metadata"]["component"]["purl"]
    assert purl == (
        f"pkg:oci/python-app@{ALPINE_MANIFEST}"
        "?arch=amd64&repository_url=127.0.0.1:5000/team/python-app&tag=alpine"
    )


def test_cyclonedx_package_components() -> None:
    doc = _cdx(alpine_inventory())
    comps = doc["components"]
    ssl = _one(comps, "libssl3")
    assert ssl["type"] == "library"
    assert ssl["purl"] == "pkg:apk/alpine/libssl3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3"
    assert ssl["bom-ref"] == ssl["purl"]
    assert ssl["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    props = _props(ssl)
    assert props["alpinist:origin"] == ["openssl"]
    assert props["alpinist:layer"] == [ALPINE_BASE_DIFF]
    assert props["alpinist:layer_index"] == ["0"]
    assert props["alpinist:location"] == ["/lib/apk/db/installed"]
    assert props["alpinist:type"] == ["apk"]

    cpython = _one(comps, "python")
    assert cpython["type"] == "application"
    assert cpython["cpe"] == CPYTHON_CPE
    assert _props(cpython)["alpinist:cpe"] == [
        "cpe:2.3:a:python_software_foundation:python:3.11.2:*:*:*:*:*:*:*"
    ]
    assert cpython["licenses"] == [{"license": {"id": "Python-2.0"}}]

    vendored = _one(comps, "packaging")
    assert vendored["licenses"] == [{"expression": "Apache-2.0 OR BSD-2-Clause"}]
    assert _props(vendored)["alpinist:vendored"] == ["true"]
    assert _props(vendored)["alpinist:owner"] == ["pypi:setuptools"]

    requests = _one(comps, "requests")
    assert requests["licenses"] == [{"license": {"name": "Apache 2.0"}}]


def test_cyclonedx_debian_sources_licences_and_duplicate_purls() -> None:
    doc = _cdx(debian_inventory())
    comps = doc["components"]
    bsd = _one(comps, "bsdutils")
    props = _props(bsd)
    assert props["alpinist:source"] == ["util-linux"]
    assert props["alpinist:source_version"] == ["2.38.1-5+deb12u3"]
    assert "alpinist:origin" not in props
    # one declared licence is not SPDX: CycloneDX cannot mix an expression with names, so both stay single
    assert sorted(bsd["licenses"], key=json.dumps) == sorted(
        [{"license": {"id": "BSD-4-Clause"}}, {"license": {"name": "GPL-2+"}}], key=json.dumps
    )
    libc = _one(comps, "libc-bin")
    assert sorted(lic["license"]["id"] for lic in libc["licenses"]) == [
        "GPL-2.0-or-later",
        "LGPL-2.1-or-later",
    ]

    pips = _by_name(comps, "pip")
    assert len(pips) == 2
    assert all(p["purl"] == "pkg:pypi/pip@23.0.1" for p in pips)
    refs = {p["bom-ref"] for p in pips}
    assert len(refs) == 2 and all(r.startswith("pkg:pypi/pip@23.0.1?package-id=") for r in refs)
    owners = sorted(_props(p).get("alpinist:owner", ["-"])[0] for p in pips)
    assert owners == ["-", "deb:python3-pip"]


def test_cyclonedx_dependencies() -> None:
    doc = _cdx(alpine_inventory())
    deps = {d["ref"]: set(d.get("dependsOn", [])) for d in doc["dependencies"]}
    refs = {c["name"]: c["bom-ref"] for c in doc["components"]}
    image_ref = doc["metadata"]["component"]["bom-ref"]
    os_ref = refs["alpine"]
    assert deps[image_ref] == {os_ref, refs["requests"], refs["Jinja2"], refs["packaging"], refs["python"]}
    assert deps[os_ref] == {refs["libssl3"], refs["musl"], refs["busybox"]}
    # dependencies between packages are not collected: the library lists each package with none
    assert all(deps[ref] == set() for name, ref in refs.items() if name != "alpine")


def test_cyclonedx_is_deterministic_when_serial_and_time_are_given() -> None:
    a = render_cyclonedx(alpine_inventory(), serial_number=SERIAL, timestamp=CREATED)
    b = render_cyclonedx(alpine_inventory(), serial_number=SERIAL, timestamp=CREATED)
    assert a == b
    assert json.loads(a)["metadata"]["timestamp"].startswith("2026-11-27T09:30:00")
    c = json.loads(render_cyclonedx(alpine_inventory()))
    assert c["serialNumber"] != f"urn:uuid:{SERIAL}"


# ---------------------------------------------------------------------------------------------- SPDX


def _spdx(inv: Inventory) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render_spdx(inv, created=CREATED))
    return doc


def test_spdx_validates_against_the_official_2_3_schema(inventory: Inventory) -> None:
    schema = json.loads((SCHEMAS / "spdx-2.3.schema.json").read_text(encoding="utf-8"))
    assert schema["title"] == "SPDX 2.3"
    doc = _spdx(inventory)
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls(schema).validate(doc)
    # what the 2.3.1 revision of the schema adds as patterns, checked by hand
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["creationInfo"]["created"])
    assert all(re.fullmatch(r"SPDXRef-[a-zA-Z0-9.-]+", p["SPDXID"]) for p in doc["packages"])


def test_spdx_parses_and_validates_with_spdx_tools(inventory: Inventory, tmp_path: Path) -> None:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    path = tmp_path / "sbom.spdx.json"
    path.write_text(render_spdx(inventory, created=CREATED), encoding="utf-8")
    document = parse_file(str(path))
    messages = validate_full_spdx_document(document)
    assert messages == [], [m.validation_message for m in messages]
    assert len(document.packages) == len(inventory.packages) + 2  # + image + OS


def test_spdx_document_fields() -> None:
    doc = _spdx(alpine_inventory())
    assert doc["spdxVersion"] == "SPDX-2.3" and doc["dataLicense"] == "CC0-1.0"
    assert doc["SPDXID"] == "SPDXRef-DOCUMENT"
    assert doc["creationInfo"] == {
        "created": "2026-11-27T09:30:00Z",
        "creators": [f"Tool: alpinist-{__version__}"],
    }
    assert doc["name"] == "docker.io/library/python-app:alpine"
    image = _one(doc["packages"], "docker.io/library/python-app:alpine")
    assert image["primaryPackagePurpose"] == "CONTAINER"
    assert image["versionInfo"] == ALPINE_MANIFEST
    assert image["checksums"] == [{"algorithm": "SHA256", "checksumValue": ALPINE_MANIFEST[7:]}]
    assert image["builtDate"] == "2026-11-26T16:00:00Z"  # config.json "created"
    assert image["externalRefs"] == [
        {
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": f"pkg:oci/python-app@{ALPINE_MANIFEST}?arch=amd64&tag=alpine",
        }
    ]


def test_spdx_relationships() -> None:
    inv = alpine_inventory()
    doc = _spdx(inv)
    ids = {p["SPDXID"] for p in doc["packages"]}
    assert len(ids) == len(doc["packages"]) == len(inv.packages) + 2
    rels = [
        (r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"]) for r in doc["relationships"]
    ]
    assert [r for r in rels if r[1] == "DESCRIBES"] == [("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image")]
    contained = {r[2] for r in rels if r[:2] == ("SPDXRef-Image", "CONTAINS")}
    assert contained == ids - {"SPDXRef-Image"}
    assert len(rels) == len(inv.packages) + 2


def test_spdx_packages_refs_and_licences() -> None:
    doc = _spdx(alpine_inventory())
    ssl = _one(doc["packages"], "libssl3")
    assert ssl["versionInfo"] == "3.3.2-r0"
    assert ssl["downloadLocation"] == "NOASSERTION" and ssl["filesAnalyzed"] is False
    assert ssl["licenseDeclared"] == "Apache-2.0" and ssl["licenseConcluded"] == "NOASSERTION"
    assert ssl["externalRefs"] == [
        {
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": "pkg:apk/alpine/libssl3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3",
        }
    ]
    assert "origin package openssl" in ssl["comment"]
    cpython = _one(doc["packages"], "python")
    assert cpython["primaryPackagePurpose"] == "APPLICATION"
    security = [r for r in cpython["externalRefs"] if r["referenceCategory"] == "SECURITY"]
    assert security[0] == {
        "referenceCategory": "SECURITY",
        "referenceType": "cpe23Type",
        "referenceLocator": CPYTHON_CPE,
    }
    assert len(security) == 2
    assert _one(doc["packages"], "packaging")["licenseDeclared"] == "Apache-2.0 OR BSD-2-Clause"
    requests = _one(doc["packages"], "requests")
    assert requests["licenseDeclared"] == "NOASSERTION"
    assert "Apache 2.0" in requests["licenseComments"]

    deb = _spdx(debian_inventory())
    bsd = _one(deb["packages"], "bsdutils")
    assert bsd["licenseDeclared"] == "NOASSERTION"  # "GPL-2+" is a Debian name, not SPDX
    assert "source package util-linux 2.38.1-5+deb12u3" in bsd["comment"]
    libc = _one(deb["packages"], "libc-bin")
    assert libc["licenseDeclared"] == "LGPL-2.1-or-later AND GPL-2.0-or-later"


def test_spdx_namespace_is_derived_from_the_manifest_digest() -> None:
    inv = alpine_inventory()
    first = json.loads(render_spdx(inv, created=CREATED))["documentNamespace"]
    later = json.loads(render_spdx(inv, created=datetime(2027, 1, 1, tzinfo=UTC)))["documentNamespace"]
    assert first == later
    assert first.startswith("https://alpinist.invalid/spdx/image/docker.io-library-python-app-alpine-")
    other = dataclasses.replace(inv, image=dataclasses.replace(inv.image, manifest_digest=DEBIAN_MANIFEST))
    assert json.loads(render_spdx(other, created=CREATED))["documentNamespace"] != first
    assert render_spdx(inv, created=CREATED) == render_spdx(inv, created=CREATED)


def _odd_inventory() -> Inventory:
    """Strings a cataloger might pass on from a hostile or broken image."""
    inv = alpine_inventory()
    odd = Package(
        name="evil pkg [x]/../\u00e9",
        version="1.0 beta",
        type="python",
        purl="not a purl",
        licenses=("LicenseRef-internal", ""),
        locations=("/srv/évil pkg.dist-info",),
        cpes=("cpe:2.3:a:bad cpe:x:1:*:*:*:*:*:*:*",),
    )
    return dataclasses.replace(inv, packages=(*inv.packages, odd))


def test_odd_strings_still_give_valid_sboms(tmp_path: Path) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    inv = _odd_inventory()
    spdx_text = render_spdx(inv, created=CREATED)
    path = tmp_path / "odd.spdx.json"
    path.write_text(spdx_text, encoding="utf-8")
    messages = validate_full_spdx_document(parse_file(str(path)))
    assert messages == [], [m.validation_message for m in messages]
    odd = _one(json.loads(spdx_text)["packages"], "evil pkg [x]/../\u00e9")
    assert "externalRefs" not in odd
    assert "purl not valid: not a purl" in odd["comment"] and "CPE not valid" in odd["comment"]
    assert re.fullmatch(r"SPDXRef-Package-python-evil-pkg-x-\.\.-[0-9a-f]{16}", odd["SPDXID"])

    cdx_text = render_cyclonedx(inv, serial_number=SERIAL, timestamp=CREATED)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cdx_text) is None
    comp = _one(json.loads(cdx_text)["components"], "evil pkg [x]/../\u00e9")
    assert "purl" not in comp and "cpe" not in comp
    assert comp["bom-ref"] == "alpinist:python:evil pkg [x]/../\u00e9@1.0 beta"
    assert _props(comp)["alpinist:cpe"] == ["cpe:2.3:a:bad cpe:x:1:*:*:*:*:*:*:*"]

    doc = json.loads(render_json(inv, include_files=True))
    jsonschema.Draft202012Validator(load_schema()).validate(doc)
    assert inventory_from_dict(doc) == inv


# --------------------------------------------------------------------------------------------- table


def _table(inv: Inventory) -> str:
    buf = io.StringIO()
    render_table(inv, Console(file=buf, width=160))
    return buf.getvalue()


def test_table_header_shows_the_image_facts() -> None:
    out = _table(alpine_inventory())
    assert "oci:/work/shared/corpus/images/oci:python-app:alpine" in out
    assert ALPINE_MANIFEST in out
    assert "linux/amd64" in out
    assert "Alpine Linux v3.20" in out
    # 5 layers, 14,555,546 bytes compressed; 37,918,720 uncompressed (sum of layers.tsv), in SI units
    assert "5 (14.6 MB compressed, 37.9 MB uncompressed)" in out
    assert "nonroot:nonroot" in out and "runs as root" not in out
    assert "urllib.request.urlopen('http://localhost:8080/health')" in out
    assert "/bin/sh" in out and "apk, pip" in out
    assert max(len(line) for line in out.splitlines()) <= 160


def test_table_flags_root_and_missing_healthcheck() -> None:
    inv = debian_inventory()
    inv = dataclasses.replace(
        inv, image=dataclasses.replace(inv.image, user="", healthcheck=None, shell=None)
    )
    out = _table(inv)
    assert "runs as root" in out
    assert re.search(r"Healthcheck\s+none", out)
    assert re.search(r"Shell\s+none", out)


def test_table_rows_sorted_by_type_then_name_with_origins() -> None:
    out = _table(alpine_inventory())
    lines = out.splitlines()

    def row_of(name: str, version: str) -> int:
        matches = [
            i
            for i, line in enumerate(lines)
            if re.match(rf"\s*{re.escape(name)}\s+{re.escape(version)}\s", line)
        ]
        assert len(matches) == 1, name
        return matches[0]

    order = [
        row_of("busybox", "1.36.1-r29"),
        row_of("libssl3", "3.3.2-r0"),
        row_of("musl", "1.2.5-r0"),
        row_of("Jinja2", "3.1.4"),
        row_of("packaging", "24.0"),
        row_of("requests", "2.32.3"),
        row_of("python", "3.11.2"),
    ]
    assert order == sorted(order)
    assert "openssl" in lines[row_of("libssl3", "3.3.2-r0")]
    vendored_row = lines[row_of("packaging", "24.0")]
    assert "vendored" in vendored_row and "setuptools/_vendor/packaging-24.0.dist-info" in vendored_row
    assert "/usr/local/bin/python3.11" in lines[row_of("python", "3.11.2")]
    assert out.rstrip().splitlines()[-1] == "3 OS packages (apk), 3 Python packages, 1 binary"


def test_table_debian_sources_and_summary() -> None:
    out = _table(debian_inventory())
    bsd = next(line for line in out.splitlines() if line.lstrip().startswith("bsdutils"))
    assert "util-linux (2.38.1-5+deb12u3)" in bsd  # source version differs from 1:2.38.1-5+deb12u3
    libc = next(line for line in out.splitlines() if line.lstrip().startswith("libc-bin"))
    assert "glibc" in libc and "(2.36-9+deb12u14)" not in libc  # same version: not repeated
    assert "owned by deb:python3-pip" in out
    assert out.rstrip().splitlines()[-1] == "3 OS packages (deb), 3 Python packages"


def test_table_shows_hostile_strings_literally() -> None:
    inv = alpine_inventory()
    evil = Package(name="[bold red]evil[/]\x1b[2J", version="1\r0", type="python", purl="pkg:pypi/evil@1")
    inv = dataclasses.replace(inv, packages=(*inv.packages, evil))
    out = _table(inv)
    assert "\x1b" not in out and "\r" not in out
    assert "[bold red]evil[/]\\x1b[2J" in out


def test_table_without_packages_or_os() -> None:
    inv = Inventory(image=alpine_inventory().image, os=None, packages=())
    out = _table(inv)
    assert "not recognised" in out
    assert out.rstrip().splitlines()[-1] == "no packages found"
