"""The ``items`` resource: the entity, its validation (what ``@Valid`` + Bean Validation do in Spring) and
an in-memory repository (what a ``CrudRepository`` over an in-memory database would be).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

NAME_MAX = 100
QUANTITY_MAX = 1_000_000
FIELDS = ("name", "quantity")


@dataclass(frozen=True)
class Item:
    id: int
    name: str
    quantity: int

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "quantity": self.quantity}


@dataclass(frozen=True)
class NewItem:
    """A validated request body for ``POST /api/items``."""

    name: str
    quantity: int


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class ValidationError(Exception):
    """The request body is well-formed JSON but breaks the resource's constraints (HTTP 400)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = tuple(errors)


def parse_new_item(doc: object) -> NewItem:
    """Validate a decoded JSON body; every broken constraint is reported, not only the first one.

    ``name``: a string, not blank once trimmed, at most 100 characters (stored trimmed).
    ``quantity``: an integer (``true``/``false`` and ``1.0`` are not integers) in 0..1,000,000.
    Fields other than these two are refused rather than ignored, so a typo (``quantitiy``) is visible.
    """
    if not isinstance(doc, dict):
        raise ValidationError([FieldError("$", "must be a JSON object")])
    errors: list[FieldError] = []
    errors.extend(FieldError(str(key), "unknown field") for key in doc if key not in FIELDS)

    name = doc.get("name")
    if name is None:
        errors.append(FieldError("name", "is required"))
    elif not isinstance(name, str):
        errors.append(FieldError("name", "must be a string"))
    elif not name.strip():
        errors.append(FieldError("name", "must not be blank"))
    elif len(name.strip()) > NAME_MAX:
        errors.append(FieldError("name", f"must be at most {NAME_MAX} characters"))

    quantity = doc.get("quantity")
    if quantity is None:
        errors.append(FieldError("quantity", "is required"))
    elif isinstance(quantity, bool) or not isinstance(quantity, int):
        errors.append(FieldError("quantity", "must be an integer"))
    elif not 0 <= quantity <= QUANTITY_MAX:
        errors.append(FieldError("quantity", f"must be between 0 and {QUANTITY_MAX}"))

    if errors:
        raise ValidationError(errors)
    assert isinstance(name, str) and isinstance(quantity, int)
    return NewItem(name=name.strip(), quantity=quantity)


class ItemRepository:
    """Items in memory, ids from 1 upwards; safe to share between the server's request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[int, Item] = {}
        self._next_id = 1

    def find_all(self) -> list[Item]:
        with self._lock:
            return sorted(self._items.values(), key=lambda item: item.id)

    def find_by_id(self, item_id: int) -> Item | None:
        with self._lock:
            return self._items.get(item_id)

    def save(self, new: NewItem) -> Item:
        with self._lock:
            item = Item(id=self._next_id, name=new.name, quantity=new.quantity)
            self._items[item.id] = item
            self._next_id += 1
            return item

    def delete_by_id(self, item_id: int) -> bool:
        with self._lock:
            return self._items.pop(item_id, None) is not None
