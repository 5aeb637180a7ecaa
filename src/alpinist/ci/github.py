"""The GitHub Actions workflow ``alpinist ci init github`` writes, from a small frozen options value.

Every value an option puts into the YAML is validated first (a character set that cannot end a YAML
scalar, open a GitHub expression ``${{`` or break a shell word) and then written as a double-quoted
YAML scalar; ``run:`` scripts never contain an expression: they read values from ``env:`` only. Every
``uses:`` is pinned by a full commit SHA (``ACTIONS``), the version in a comment.

The workflow calls ``alpinist gate``, ``alpinist rescan`` and ``alpinist scan sbom:FILE`` by name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from alpinist import __version__
from alpinist.errors import CIOptionError

# The pinned actions: (full commit SHA, the release tag it is). Bump them together, by `git ls-remote
# https://github.com/OWNER/REPO refs/tags/TAG`; the composite action.yml at the repository root pins
# actions/setup-python to the same commit (a test checks).
ACTIONS: dict[str, tuple[str, str]] = {
    "actions/checkout": ("1af3b93b6815bc44a9784bd300feb67ff0d1eeb3", "v6.0.0"),
    "actions/setup-python": ("e797f83bcb11b83ae66e0230d6156d7c80228e7c", "v6.0.0"),
    "actions/upload-artifact": ("330a01c490aca151604b8cf639adc76d48f6c5d4", "v5.0.0"),
    "github/codeql-action/upload-sarif": ("5d4e8d1aca955e8d8589aabd499c5cae939e33c7", "v4.31.9"),
    "docker/setup-buildx-action": ("e468171a9de216ec08956ac3ada2f0791b6bd435", "v3.11.1"),
    "docker/build-push-action": ("263435318d21b8e681c14492fe198d362a7d2c83", "v6.18.0"),
}

PYTHON_VERSION = "3.12"
DEFAULT_OUTPUT = ".github/workflows/cve-monitoring.yml"
SBOM_ARTIFACT = "alpinist-sbom"

# A docker reference: [HOST[:PORT]/]PATH[:TAG] (lower-case path components, as docker requires).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?"
_IMAGE = re.compile(rf"(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?")
# A path inside the repository: relative, POSIX, no `..`, a plain character set.
_PATH_CHARS = re.compile(r"[A-Za-z0-9._+@/-]+")
_BRANCH = re.compile(r"[A-Za-z0-9._/-]+")
_WORKFLOW_FILE = re.compile(r"[A-Za-z0-9._-]+\.ya?ml")
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?")
_GIT_SPEC = re.compile(r"git\+https://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[A-Za-z0-9._~-]+)+@[0-9a-f]{40}")


def _check_image(image: str) -> str:
    if not image:
        raise CIOptionError("--image", "empty")
    if not _IMAGE.fullmatch(image) or len(image) > 255:
        raise CIOptionError(
            "--image",
            f"{image!r} is not an image name ([HOST[:PORT]/]name[/name…][:tag], lower-case name; "
            "no spaces, newlines, quotes or ${{ }})",
        )
    return image


def _check_path(option: str, value: str, *, allow_root: bool = False) -> str:
    if value in ("", "."):
        if allow_root:
            return "."
        raise CIOptionError(option, "empty")
    if not _PATH_CHARS.fullmatch(value):
        raise CIOptionError(
            option, f"{value!r}: only letters, digits and . _ + @ / - (no spaces, quotes, newlines or ${{ }})"
        )
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or value.startswith("-"):
        raise CIOptionError(option, f"{value!r} must be a relative path inside the repository, without '..'")
    return str(path)


def _check_install(spec: str) -> str:
    if _VERSION.fullmatch(spec):
        return f"alpinist=={spec}"
    if _GIT_SPEC.fullmatch(spec):
        return spec
    raise CIOptionError(
        "--alpinist",
        f"{spec!r}: a release (e.g. {__version__}) or git+https://HOST/OWNER/REPO@<40-hex commit>",
    )


@dataclass(frozen=True)
class GitHubOptions:
    """What the workflow builds and where it keeps its files (paths relative to the repository root)."""

    image: str = "app"
    dockerfile: str = "Dockerfile"
    context: str = "."
    baseline: str = ".alpinist/baseline.json"
    sbom_dir: str = ".alpinist/sboms"
    branch: str = "main"
    alpinist: str = __version__
    workflow_file: str = "cve-monitoring.yml"

    def __post_init__(self) -> None:
        _check_image(self.image)
        for option, value in (("--dockerfile", self.dockerfile), ("--baseline", self.baseline)):
            _check_path(option, value)
        _check_path("--context", self.context, allow_root=True)
        _check_path("--sbom-dir", self.sbom_dir)
        if not _BRANCH.fullmatch(self.branch) or ".." in self.branch or self.branch.startswith(("-", "/")):
            raise CIOptionError("--branch", f"{self.branch!r} is not a branch name")
        _check_install(self.alpinist)
        if not _WORKFLOW_FILE.fullmatch(self.workflow_file):
            raise CIOptionError(
                "--output", f"{self.workflow_file!r}: the workflow file name must be NAME.yml"
            )

    @property
    def install_spec(self) -> str:
        return _check_install(self.alpinist)

    @property
    def sbom_name(self) -> str:
        """The SBOM's file name: the image's last path component, without tag, ``.json``."""
        name = self.image.rsplit("/", 1)[-1].split(":", 1)[0]
        return f"{name}.json"

    def command_line(self) -> str:
        """The ``alpinist ci init github`` command that writes this workflow (for its header)."""
        defaults = GitHubOptions(image=self.image)
        args = ["alpinist ci init github", f"--image {self.image}"]
        for option, value, default in (
            ("--dockerfile", self.dockerfile, defaults.dockerfile),
            ("--context", self.context, defaults.context),
            ("--baseline", self.baseline, defaults.baseline),
            ("--sbom-dir", self.sbom_dir, defaults.sbom_dir),
            ("--branch", self.branch, defaults.branch),
        ):
            if value != default:
                args.append(f"{option} {value}")
        if self.alpinist != __version__:
            args.append(f"--alpinist {self.alpinist}")
        return " ".join(args)


def _q(value: str) -> str:
    """A double-quoted YAML scalar (JSON's escapes are YAML's)."""
    return json.dumps(value, ensure_ascii=True)


def _uses(action: str) -> str:
    sha, tag = ACTIONS[action]
    return f"{action}@{sha} # {tag}"


_TEMPLATE = """\
# CVE monitoring of <<image_comment>>, written by `alpinist ci init github` (alpinist <<version>>).
# Regenerate it from the repository root rather than edit it:
#   <<command>>
#
# push to <<branch_comment>> and pull requests: build the image into a docker archive, keep its SBOM as an
#   artifact, upload the scan to code scanning, gate on high or critical findings the baseline does not
#   list (the report is commented on the pull request; the gate's exit code fails the job).
# daily: rescan the SBOM of the last build of <<branch_comment>> (and any SBOM committed in the SBOM
#   directory) against today's feeds, without rebuilding; open or update an issue on high or critical
#   findings and fail.
name: CVE monitoring

on:
  push:
    branches: [<<branch>>]
  pull_request:
  schedule:
    - cron: "17 5 * * *"
  workflow_dispatch:

permissions: {}

concurrency:
  group: ${{ github.workflow }}-${{ github.event_name }}-${{ github.ref }}
  cancel-in-progress: ${{ github.event_name == 'pull_request' }}

env:
  IMAGE: <<image>>
  BASELINE: <<baseline>>
  SBOM_DIR: <<sbom_dir>>
  SBOM_NAME: <<sbom_name>>
  BRANCH: <<branch>>
  WORKFLOW_FILE: <<workflow_file>>
  ALPINIST_SPEC: <<install>>
  PIP_DISABLE_PIP_VERSION_CHECK: "1"

jobs:
  image:
    name: Build, scan and gate the image
    if: github.event_name == 'push' || github.event_name == 'pull_request'
    runs-on: ubuntu-24.04
    timeout-minutes: 60
    permissions:
      contents: read # check out the repository
      security-events: write # upload the SARIF to code scanning
      pull-requests: write # comment the gate's report
    steps:
      - name: Check out
        uses: <<checkout>>
        with:
          persist-credentials: false

      - name: Set up Buildx
        uses: <<setup_buildx>>

      - name: Build the image into a docker archive
        uses: <<build_push>>
        with:
          context: <<context>>
          file: <<dockerfile>>
          tags: <<image>>
          push: false
          outputs: type=docker,dest=${{ runner.temp }}/image.tar

      - name: Set up Python
        uses: <<setup_python>>
        with:
          python-version: "<<python>>"

      - name: Install alpinist
        run: python -m pip install "${ALPINIST_SPEC}"

      - name: Update the advisory database
        run: alpinist db update

      - name: SBOM
        run: |
          mkdir -p "${RUNNER_TEMP}/sbom"
          alpinist sbom "docker-archive:${RUNNER_TEMP}/image.tar" --format json -o "${RUNNER_TEMP}/sbom/${SBOM_NAME}"

      - name: Keep the SBOM
        uses: <<upload_artifact>>
        with:
          name: <<artifact>>
          path: ${{ runner.temp }}/sbom/
          if-no-files-found: error

      - name: Scan (SARIF)
        run: alpinist scan "sbom:${RUNNER_TEMP}/sbom/${SBOM_NAME}" --format sarif -o "${RUNNER_TEMP}/alpinist.sarif"

      - name: Upload the scan to code scanning
        if: github.event_name == 'push' || github.event.pull_request.head.repo.full_name == github.repository
        uses: <<upload_sarif>>
        with:
          sarif_file: ${{ runner.temp }}/alpinist.sarif
          category: alpinist

      - name: Gate on findings the baseline does not list
        id: gate
        run: |
          set +e
          alpinist gate "docker-archive:${RUNNER_TEMP}/image.tar" --baseline "${BASELINE}" --fail-on high --format markdown > "${RUNNER_TEMP}/gate.md"
          status=$?
          set -e
          if [ ! -s "${RUNNER_TEMP}/gate.md" ]; then
            echo "alpinist gate failed (exit ${status}) before writing its report: see the job's log." > "${RUNNER_TEMP}/gate.md"
          fi
          cat "${RUNNER_TEMP}/gate.md" >> "${GITHUB_STEP_SUMMARY}"
          echo "status=${status}" >> "${GITHUB_OUTPUT}"

      - name: Comment the gate's report on the pull request
        if: github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository
        env:
          GH_TOKEN: ${{ github.token }}
          GH_REPO: ${{ github.repository }}
          PR_NUMBER: ${{ github.event.pull_request.number }}
        run: gh pr comment "${PR_NUMBER}" --edit-last --create-if-none --body-file "${RUNNER_TEMP}/gate.md"

      - name: Fail on new high or critical findings
        if: steps.gate.outputs.status != '0'
        env:
          GATE_STATUS: ${{ steps.gate.outputs.status }}
        run: |
          echo "::error::alpinist gate exited ${GATE_STATUS} (2: new high or critical findings; 1: error)"
          exit "${GATE_STATUS}"

  rescan:
    name: Rescan the stored SBOMs against today's feeds
    if: github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'
    runs-on: ubuntu-24.04
    timeout-minutes: 60
    permissions:
      contents: read # check out the repository (committed SBOMs)
      actions: read # download the SBOM artifact of the last build
      issues: write # open or update the issue
    steps:
      - name: Check out
        uses: <<checkout>>
        with:
          persist-credentials: false

      - name: Set up Python
        uses: <<setup_python>>
        with:
          python-version: "<<python>>"

      - name: Install alpinist
        run: python -m pip install "${ALPINIST_SPEC}"

      - name: Update the advisory database
        run: alpinist db update

      - name: Fetch the SBOM of the last build of the branch
        env:
          GH_TOKEN: ${{ github.token }}
          GH_REPO: ${{ github.repository }}
        run: |
          mkdir -p "${SBOM_DIR}"
          run_id="$(gh run list --workflow "${WORKFLOW_FILE}" --branch "${BRANCH}" --event push --status success --limit 1 --json databaseId --jq '.[0].databaseId // empty')"
          if [ -z "${run_id}" ] || ! gh run download "${run_id}" --name <<artifact>> --dir "${SBOM_DIR}"; then
            echo "::warning::no SBOM artifact from a push to ${BRANCH}: rescanning the SBOMs committed in ${SBOM_DIR} only"
          fi

      - name: Rescan
        id: rescan
        run: |
          set +e
          alpinist rescan "${SBOM_DIR}" --fail-on high > "${RUNNER_TEMP}/rescan.txt"
          status=$?
          set -e
          { echo '```'; cat "${RUNNER_TEMP}/rescan.txt"; echo '```'; } >> "${GITHUB_STEP_SUMMARY}"
          echo "status=${status}" >> "${GITHUB_OUTPUT}"

      - name: Open or update an issue on high or critical findings
        if: steps.rescan.outputs.status == '2'
        env:
          GH_TOKEN: ${{ github.token }}
          GH_REPO: ${{ github.repository }}
          RUN_URL: ${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}
        run: |
          title="alpinist: high or critical CVEs in ${IMAGE}"
          {
            echo "The daily rescan of the stored SBOMs found high or critical vulnerabilities: ${RUN_URL}"
            echo
            echo '```'
            cat "${RUNNER_TEMP}/rescan.txt"
            echo '```'
          } > "${RUNNER_TEMP}/issue.md"
          number="$(gh issue list --state open --search "\\"${title}\\" in:title" --json number --jq '.[0].number // empty')"
          if [ -n "${number}" ]; then
            gh issue comment "${number}" --body-file "${RUNNER_TEMP}/issue.md"
          else
            gh issue create --title "${title}" --body-file "${RUNNER_TEMP}/issue.md"
          fi

      - name: Fail on high or critical findings
        if: steps.rescan.outputs.status != '0'
        env:
          RESCAN_STATUS: ${{ steps.rescan.outputs.status }}
        run: |
          echo "::error::alpinist rescan exited ${RESCAN_STATUS} (2: high or critical findings; 1: error)"
          exit "${RESCAN_STATUS}"
"""

_PLACEHOLDER = re.compile(r"<<([a-z_]+)>>")


def render_workflow(options: GitHubOptions) -> str:
    """The workflow's YAML text for these options."""
    values = {
        "image_comment": options.image,
        "version": __version__,
        "command": options.command_line(),
        "branch_comment": options.branch,
        "image": _q(options.image),
        "baseline": _q(options.baseline),
        "sbom_dir": _q(options.sbom_dir),
        "sbom_name": _q(options.sbom_name),
        "branch": _q(options.branch),
        "workflow_file": _q(options.workflow_file),
        "install": _q(options.install_spec),
        "context": _q(options.context),
        "dockerfile": _q(options.dockerfile),
        "artifact": SBOM_ARTIFACT,
        "python": PYTHON_VERSION,
        "checkout": _uses("actions/checkout"),
        "setup_buildx": _uses("docker/setup-buildx-action"),
        "build_push": _uses("docker/build-push-action"),
        "setup_python": _uses("actions/setup-python"),
        "upload_artifact": _uses("actions/upload-artifact"),
        "upload_sarif": _uses("github/codeql-action/upload-sarif"),
    }
    return _PLACEHOLDER.sub(lambda m: values[m[1]], _TEMPLATE)
