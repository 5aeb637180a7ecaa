"""Locales in ``alpinist migrate``: Debian's ``locales`` + ``locale-gen`` + ``ENV LANG=…`` become
``musl-locales`` + ``ENV MUSL_LOCPATH``; ``gettext`` (Django's ``compilemessages``) is installed where it runs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from alpinist.dockerfile.migrate import Migration, MigrationOptions, migrate_text
from alpinist.dockerfile.migrate.locales import (
    MUSL_LOCALE_NOTE,
    env_locales,
    is_locale_setup,
)
from alpinist.dockerfile.migrate.report import Note
from alpinist.dockerfile.parse import parse_dockerfile
from alpinist.dockerfile.shell import stage_package_operations

OFFLINE = MigrationOptions(offline=True)

DJANGO_DE = """\
FROM python:3.12-slim
RUN apt-get update && apt-get install -y --no-install-recommends locales gettext \\
    && sed -i 's/# de_DE.UTF-8 UTF-8/de_DE.UTF-8 UTF-8/' /etc/locale.gen \\
    && locale-gen de_DE.UTF-8 \\
    && rm -rf /var/lib/apt/lists/*
ENV LANG=de_DE.UTF-8 LC_ALL=de_DE.UTF-8
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN python manage.py compilemessages
CMD ["gunicorn", "app.wsgi"]
"""


def _migrate(tmp_path: Path, text: str) -> Migration:
    (tmp_path / "Dockerfile").write_text(text, encoding="utf-8")
    (tmp_path / "requirements.txt").write_text("django==5.1.4\n", encoding="utf-8")
    return migrate_text(text, str(tmp_path / "Dockerfile"), OFFLINE)


def _messages(notes: Iterable[Note]) -> list[str]:
    return [str(n) for n in notes]


def test_locales_and_locale_gen_become_musl_locales_with_musl_locpath(tmp_path: Path) -> None:
    result = _migrate(tmp_path, DJANGO_DE)
    lines = result.text.splitlines()
    runtime = lines[lines.index("FROM python:3.12-alpine3.22 AS runtime") :]
    assert runtime[1] == "RUN apk add --no-cache gettext musl-locales \\"
    assert "ENV MUSL_LOCPATH=/usr/share/i18n/locales/musl" in runtime
    # the ENV comes right after the RUN that installs musl-locales (before anything runs in the stage)
    assert runtime.index("ENV MUSL_LOCPATH=/usr/share/i18n/locales/musl") == 4
    assert runtime.count("ENV LANG=de_DE.UTF-8 LC_ALL=de_DE.UTF-8") == 1  # the input's ENV kept
    assert not any("locale-gen" in line or "/etc/locale.gen" in line for line in lines)
    assert "RUN python manage.py compilemessages" in runtime
    report = result.report
    assert report.runtime_packages == ("gettext", "musl-locales")
    assert report.unmapped == ()
    changes = _messages(report.changes)
    assert (
        "line 2: `locale-gen de_DE.UTF-8` dropped: Alpine generates no locales; musl-locales (runtime apk) "
        "provides them and ENV MUSL_LOCPATH=/usr/share/i18n/locales/musl makes musl read them "
        "(the input's LANG/LC_ALL ENV is kept)"
    ) in changes
    assert (
        "line 2: `sed -i 's/# de_DE.UTF-8 UTF-8/de_DE.UTF-8 UTF-8/' /etc/locale.gen` dropped: Alpine generates "
        "no locales; musl-locales (runtime apk) provides them and ENV MUSL_LOCPATH=/usr/share/i18n/locales/musl "
        "makes musl read them (the input's LANG/LC_ALL ENV is kept)"
    ) in changes
    assert "line 2: apt locales → apk musl-locales (runtime)" in changes
    assert (
        "line 6: ENV selects de_DE.UTF-8: kept; provided by musl-locales, "
        "with ENV MUSL_LOCPATH=/usr/share/i18n/locales/musl"
    ) in changes
    assert not any("locale-gen" in r for r in _messages(report.risks))  # no longer "will fail"
    assert MUSL_LOCALE_NOTE in _messages(report.notes)
    assert "byte order" in MUSL_LOCALE_NOTE and "LC_COLLATE has no effect" in MUSL_LOCALE_NOTE


def test_gettext_is_installed_in_the_builder_and_in_the_runtime_that_runs_compilemessages(
    tmp_path: Path,
) -> None:
    result = _migrate(tmp_path, DJANGO_DE)
    assert "gettext" in result.report.builder_packages
    assert "gettext" in result.report.runtime_packages
    assert "line 2: apt gettext → apk gettext (builder), gettext (runtime)" in _messages(
        result.report.changes
    )


def test_gettext_goes_to_the_stage_of_a_multi_stage_input_that_runs_compilemessages(tmp_path: Path) -> None:
    text = """\
FROM python:3.12-slim AS build
RUN apt-get update && apt-get install -y gettext
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --prefix=/install -r requirements.txt
COPY . .
RUN python manage.py compilemessages

FROM python:3.12-slim
COPY --from=build /install /usr/local
COPY --from=build /app /app
CMD ["gunicorn", "app.wsgi"]
"""
    result = _migrate(tmp_path, text)
    df = parse_dockerfile(result.text, "migrated")
    build_stage = df.stages[0]
    names = [n for op in stage_package_operations(build_stage, "apk", "install") for n in op.names]
    assert "gettext" in names
    assert any("compilemessages" in ins.original for ins in build_stage.runs)
    final = [n for op in stage_package_operations(df.final_stage, "apk", "install") for n in op.names]
    assert "gettext" not in final and "musl-locales" not in final


def test_env_lang_alone_adds_musl_locales_and_c_utf8_adds_nothing(tmp_path: Path) -> None:
    text = 'FROM python:3.12-slim\nENV LANG=fr_FR.UTF-8\nCMD ["python", "-m", "app"]\n'
    result = _migrate(tmp_path, text)
    assert "musl-locales" in result.report.runtime_packages
    assert "ENV MUSL_LOCPATH=/usr/share/i18n/locales/musl" in result.text.splitlines()
    assert (
        "line 2: ENV selects fr_FR.UTF-8: kept; added to the runtime: musl-locales, "
        "with ENV MUSL_LOCPATH=/usr/share/i18n/locales/musl"
    ) in _messages(result.report.changes)

    plain = _migrate(tmp_path, 'FROM python:3.12-slim\nENV LANG=C.UTF-8\nCMD ["python", "-m", "app"]\n')
    assert "musl-locales" not in plain.report.runtime_packages
    assert "MUSL_LOCPATH" not in plain.text
    assert MUSL_LOCALE_NOTE not in _messages(plain.report.notes)


def test_what_counts_as_locale_setup() -> None:
    assert is_locale_setup(("locale-gen", "de_DE.UTF-8"))
    assert is_locale_setup(("localedef", "-i", "de_DE", "-f", "UTF-8", "de_DE.UTF-8"))
    assert is_locale_setup(("update-locale", "LANG=de_DE.UTF-8"))
    assert is_locale_setup(("dpkg-reconfigure", "--frontend=noninteractive", "locales"))
    assert is_locale_setup(("sed", "-i", "/de_DE.UTF-8/s/^# //g", "/etc/locale.gen"))
    assert is_locale_setup(("sudo", "locale-gen"))
    assert not is_locale_setup(("dpkg-reconfigure", "tzdata"))
    assert not is_locale_setup(("sed", "-i", "s/a/b/", "/etc/hosts"))


def test_env_locales_skips_the_builtin_locales_and_reads_language_lists() -> None:
    df = parse_dockerfile(
        "FROM python:3.12-slim\nENV LANG=C.UTF-8 LC_ALL=POSIX\nENV LANGUAGE=de_DE:de TZ=Europe/Berlin\n"
    )
    assert env_locales(df.final_stage.of("ENV")) == [("de_DE", 3), ("de", 3)]
