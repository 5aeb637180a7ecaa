"""``alpinist sbom IMAGE``: list what is installed in an image, in one of ``formats.SBOM_FORMATS``.

Loaded lazily by the group (``app.py``). A warm ``sbom`` (cached inventory) imports neither the advisory
store nor httpx nor the Dockerfile tools: the pipeline and the one formatter are imported in the body.

Exit codes (``errors.py``): 0 success, 1 error, 64 usage.
"""

from __future__ import annotations

from pathlib import Path

import click

from alpinist.cli.common import pull_options
from alpinist.cli.formats import SBOM_FORMATS
from alpinist.cli.options import image_options, output_options
from alpinist.cli.quiet import pull_progress


@click.command()
@click.argument("image")
@output_options(SBOM_FORMATS)
@click.option("--files", is_flag=True, help="json: include the files each OS package owns.")
@image_options
def sbom(
    image: str,
    fmt: str,
    output: Path | None,
    files: bool,
    platform: str | None,
    insecure: tuple[str, ...],
    registry_mirrors: tuple[tuple[str, str], ...],
    creds: str | None,
    no_cache: bool,
) -> None:
    """List what is installed in IMAGE: OS packages, Python packages, CPython, image facts."""
    from alpinist.inventory.build import build_inventory

    options = pull_options(platform, insecure, creds, registry_mirrors)
    with pull_progress(options) as (options, on_layer):
        inv = build_inventory(image, options, use_cache=not no_cache, layer_progress=on_layer)

    SBOM_FORMATS.write(fmt, inv, output, include_files=files)
