"""Domain model of a parsed Dockerfile: frozen dataclasses and the questions ``lint`` and ``migrate`` ask.

Built by :func:`alpinist.dockerfile.parse.parse_dockerfile`; nothing here reads files or runs a parser.
Line numbers are 1-based lines of the source text (a BOM or ``# escape=`` directive keeps its line).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from alpinist.dockerfile.expand import expand_word
from alpinist.errors import AlpinistError

__all__ = [
    "Dockerfile",
    "DockerfileError",
    "Heredoc",
    "ImageName",
    "Instruction",
    "Stage",
]


class DockerfileError(AlpinistError):
    """A Dockerfile that cannot be read or parsed; the message names the file and, when known, the line."""


@dataclass(frozen=True)
class ImageName:
    """An image reference as written in ``FROM`` (``raw``), split into its parts.

    ``repository`` excludes the registry (``python``, ``distroless/python3``); ``registry`` is only set
    when the first path component looks like a host (has ``.`` or ``:``, or is ``localhost``).
    ``scratch`` is the empty image. A reference with unresolved ``$VAR`` keeps them in ``raw``.
    """

    raw: str
    repository: str
    registry: str | None = None
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """Last path component of the repository: ``python``, ``python3`` for ``distroless/python3``."""
        return self.repository.rsplit("/", 1)[-1]

    @property
    def is_scratch(self) -> bool:
        return self.registry is None and self.repository == "scratch"

    @property
    def has_variables(self) -> bool:
        return "$" in self.raw

    @property
    def tag_or_latest(self) -> str:
        """The tag a pull would use: ``latest`` when neither tag nor digest is written."""
        if self.tag:
            return self.tag
        return "" if self.digest else "latest"

    def __str__(self) -> str:
        return self.raw


@dataclass(frozen=True)
class Heredoc:
    """A here-document attached to ``RUN``/``COPY``/``ADD`` (``<<EOF`` … ``EOF``)."""

    name: str
    content: str
    fd: int = 0


@dataclass(frozen=True)
class Instruction:
    """One instruction, continuation lines joined.

    - ``cmd``: keyword in upper case (``RUN``); for ``ONBUILD`` the triggered keyword is ``sub_cmd``.
    - ``value``: the text after the keyword and its ``--flags`` (first line only for heredocs).
    - ``words``: the parser's tokens: exec-form list items; ``ENV``/``LABEL`` key, value, key, value…
      (values as written, quotes kept); ``ARG`` ``NAME[=default]`` items; ``FROM`` image, ``AS``, name;
      ``HEALTHCHECK`` ``CMD`` followed by its command, or ``NONE``; ``COPY``/``ADD`` sources and dest.
    - ``args``: the command of ``RUN``/``CMD``/``ENTRYPOINT``/``SHELL``/``HEALTHCHECK``: a tuple in exec
      (JSON) form, a string in shell form; for other instructions the same as ``words``.
    - ``flags``: ``(name, value)`` pairs without the leading ``--`` (``("from", "builder")``); a flag
      written without ``=`` has value ``""``. ``--mount`` may repeat.
    - ``ignore``: rule ids silenced by ``# alpinist ignore=RULE[,RULE]`` comments just above (or inside
      the continuation lines of) this instruction.
    """

    cmd: str
    value: str
    args: tuple[str, ...] | str
    line: int
    end_line: int
    original: str
    words: tuple[str, ...] = ()
    flags: tuple[tuple[str, str], ...] = ()
    heredocs: tuple[Heredoc, ...] = ()
    json: bool = False
    sub_cmd: str | None = None
    ignore: frozenset[str] = frozenset()

    def flag(self, name: str) -> str | None:
        """Value of the last ``--name[=value]`` flag, ``None`` when absent."""
        found = None
        for key, val in self.flags:
            if key == name:
                found = val
        return found

    def flag_values(self, name: str) -> tuple[str, ...]:
        return tuple(val for key, val in self.flags if key == name)

    @property
    def shell_script(self) -> str | None:
        """The shell text a ``RUN`` executes: its shell-form string plus heredoc bodies fed to a shell.

        ``None`` for exec form that is not ``sh -c``/``bash -c`` style.
        """
        if isinstance(self.args, str):
            # ``RUN <<EOF`` / ``RUN <<EOF bash`` / ``RUN bash <<EOF``: the heredoc is the script; in
            # ``RUN cat <<EOF > f`` or ``RUN python3 <<EOF`` it is data and only the command line is shell.
            head = self.args.split()
            script_heredoc = bool(head) and (
                head[0].startswith("<<")
                or (head[0].rsplit("/", 1)[-1] in SHELLS and len(head) > 1 and head[1].startswith("<<"))
            )
            if script_heredoc and self.heredocs:
                return "\n".join(h.content for h in self.heredocs)
            return self.args
        if len(self.args) >= 3 and self.args[0].rsplit("/", 1)[-1] in SHELLS and self.args[1] == "-c":
            return self.args[2]
        return None


SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "busybox"})  # a command that is a shell


@dataclass(frozen=True)
class Stage:
    """A build stage: its ``FROM`` and the instructions up to the next ``FROM``.

    ``base`` is the image as written; ``base_resolved`` after substituting ``ARG`` defaults declared before
    the first ``FROM`` (and ``build_args`` given to the parser). ``parent`` is the index of an earlier
    stage when ``FROM`` names one (``FROM builder``), else ``None``. ``args`` maps the ``ARG``/``ENV``
    values visible at the end of the stage (for ``USER $UID``-style substitution).
    """

    index: int
    name: str | None
    base: ImageName
    base_resolved: ImageName
    instructions: tuple[Instruction, ...]
    start_line: int
    end_line: int
    from_instruction: Instruction
    platform: str | None = None
    parent: int | None = None
    env: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def label(self) -> str:
        """How messages name the stage: its alias, else its index."""
        return self.name if self.name is not None else str(self.index)

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self.instructions)

    def of(self, *cmds: str) -> tuple[Instruction, ...]:
        """Instructions of these keywords, in order."""
        wanted = {c.upper() for c in cmds}
        return tuple(i for i in self.instructions if i.cmd in wanted)

    @property
    def runs(self) -> tuple[Instruction, ...]:
        return self.of("RUN")

    @property
    def copies_from(self) -> tuple[tuple[Instruction, str], ...]:
        """``COPY --from=REF`` instructions with their ``REF`` (a stage name, index, or image)."""
        out = []
        for ins in self.of("COPY", "ADD"):
            ref = ins.flag("from")
            if ref:
                out.append((ins, ref))
        return tuple(out)


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile. ``stages`` in order; the last is the final image (without ``--target``)."""

    stages: tuple[Stage, ...]
    args_before_from: tuple[Instruction, ...] = ()
    path: str | None = None
    escape: str = "\\"
    ignore_file: frozenset[str] = frozenset()
    global_args: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def final_stage(self) -> Stage:
        return self.stages[-1]

    def instructions(self) -> Iterator[tuple[Stage | None, Instruction]]:
        """Every instruction with its stage (``None`` for ``ARG`` before the first ``FROM``)."""
        for ins in self.args_before_from:
            yield None, ins
        for stage in self.stages:
            for ins in stage.instructions:
                yield stage, ins

    def stage(self, ref: str | int) -> Stage | None:
        """The stage named ``ref`` (alias, case-insensitive) or numbered ``ref``; ``None`` if it is an image."""
        if isinstance(ref, int) or ref.isdigit():
            idx = int(ref)
            return self.stages[idx] if 0 <= idx < len(self.stages) else None
        low = ref.lower()
        for st in self.stages:
            if st.name is not None and st.name.lower() == low:
                return st
        return None

    def lineage(self, stage: Stage) -> tuple[Stage, ...]:
        """``stage`` followed by the stages it is built ``FROM`` (nearest first)."""
        chain = [stage]
        seen = {stage.index}
        while chain[-1].parent is not None and chain[-1].parent not in seen:
            nxt = self.stages[chain[-1].parent]
            seen.add(nxt.index)
            chain.append(nxt)
        return tuple(chain)

    def root_base(self, stage: Stage) -> ImageName:
        """The external image a stage ultimately starts from (following ``FROM other-stage``)."""
        return self.lineage(stage)[-1].base_resolved

    def effective_user(self, stage: Stage | None = None) -> tuple[str | None, Instruction | None]:
        """The ``USER`` in effect at the end of ``stage`` (default: final), substituted, and its instruction.

        Follows ``FROM other-stage`` (a stage inherits its parent's user). ``(None, None)`` when no stage
        in the lineage sets one: the base image's own user applies (root for most bases).
        """
        stage = stage or self.final_stage
        for st in self.lineage(stage):
            users = st.of("USER")
            if users:
                last = users[-1]
                return _user_value(last, st), last
        return None, None

    def healthcheck(self, stage: Stage | None = None) -> Instruction | None:
        """The ``HEALTHCHECK`` in effect at the end of ``stage`` (default: final), inherited through stages."""
        stage = stage or self.final_stage
        for st in self.lineage(stage):
            checks = st.of("HEALTHCHECK")
            if checks:
                return checks[-1]
        return None


def _user_value(ins: Instruction, stage: Stage) -> str:
    raw = ins.words[0] if ins.words else ins.value
    return expand_word(raw, stage.env).value
