"""An advisory index that remembers what it has read: many inventories matched against one store
(``rescan``, the bench) read each (namespace, package) row set, each vulnerability and each alias list
once, instead of once per inventory.

It answers the same as the index it wraps (every answer is a copy of the wrapped index's answer), so
``match(inv, CachingIndex(store))`` gives exactly ``match(inv, store)``. It holds what it read for its
whole life: make one per run, not one per process.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from alpinist.advisories.model import Affected, Vulnerability
from alpinist.advisories.store import Store


class CachingIndex:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._rows: dict[str, dict[str, list[Affected]]] = {}
        self._vulns: dict[str, Vulnerability | None] = {}
        self._brief: dict[str, Vulnerability | None] = {}  # read with references=False
        self._aliases: dict[str, list[str]] = {}
        self._aliased_by: dict[str, list[str]] = {}
        self._namespaces: list[str] | None = None
        # matching's verdicts per (namespace, scheme, advisory package, version), shared by every match()
        # through this index (scan/matching.py reads the attribute). A record that cannot be evaluated is
        # warned about in the first inventory that meets it only.
        self.verdict_cache: dict[Any, Any] = {}

    def sibling(self) -> CachingIndex:
        """An index sharing what this one has read (rows, records, aliases, namespaces) but keeping its own
        verdicts: a verdict's warning is given by the first match through each of them."""
        other = CachingIndex(self.store)
        other._rows, other._vulns, other._aliases = self._rows, self._vulns, self._aliases
        other._brief, other._aliased_by = self._brief, self._aliased_by
        other._namespaces = list(self.namespaces())
        return other

    def namespaces(self) -> Collection[str]:
        if self._namespaces is None:
            self._namespaces = list(self.store.namespaces())
        return self._namespaces

    def affected(self, namespace: str, package: str) -> list[Affected]:
        return self.affected_many(namespace, (package,))[package]

    def affected_many(self, namespace: str, packages: Iterable[str]) -> Mapping[str, list[Affected]]:
        known = self._rows.setdefault(namespace, {})
        wanted = list(dict.fromkeys(packages))
        missing = [name for name in wanted if name not in known]
        if missing:
            known.update(self.store.affected_many(namespace, missing))
        return {name: known[name] for name in wanted}

    def vulnerability(self, vuln_id: str) -> Vulnerability | None:
        if vuln_id not in self._vulns:
            self._vulns[vuln_id] = self.store.vulnerability(vuln_id)
        return self._vulns[vuln_id]

    def vulnerabilities_many(
        self, vuln_ids: Iterable[str], *, references: bool = True
    ) -> Mapping[str, Vulnerability]:
        # a record read without its references is kept apart: vulnerability() always answers in full
        known = self._vulns if references else self._brief
        wanted = list(dict.fromkeys(vuln_ids))
        missing = [i for i in wanted if i not in known]
        if missing:
            found = self.store.vulnerabilities_many(missing, references=references)
            for vuln_id in missing:
                known[vuln_id] = found.get(vuln_id)
        return {i: v for i in wanted if (v := known[i]) is not None}

    def aliases_of(self, vuln_id: str) -> list[str]:
        return list(self.aliases_many((vuln_id,)).get(vuln_id, ()))

    def aliases_many(self, vuln_ids: Iterable[str]) -> Mapping[str, list[str]]:
        return _lists_many(self._aliases, vuln_ids, self.store.aliases_many)

    def aliased_by_many(self, vuln_ids: Iterable[str]) -> Mapping[str, list[str]]:
        return _lists_many(self._aliased_by, vuln_ids, self.store.aliased_by_many)


def _lists_many(
    known: dict[str, list[str]],
    vuln_ids: Iterable[str],
    read: Callable[[list[str]], Mapping[str, list[str]]],
) -> dict[str, list[str]]:
    """The lists of ``vuln_ids``, reading only the ones ``known`` does not hold yet (and keeping them)."""
    wanted = list(dict.fromkeys(vuln_ids))
    missing = [i for i in wanted if i not in known]
    if missing:
        found = read(missing)
        for vuln_id in missing:
            known[vuln_id] = list(found.get(vuln_id, ()))
    return {i: known[i] for i in wanted}
