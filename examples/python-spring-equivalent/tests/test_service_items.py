"""The items domain without HTTP: validation rules and the repository."""

from __future__ import annotations

import threading

import pytest
from app.items import FieldError, ItemRepository, NewItem, ValidationError, parse_new_item


def test_valid_body_is_trimmed() -> None:
    assert parse_new_item({"name": "  rope  ", "quantity": 0}) == NewItem("rope", 0)
    assert parse_new_item({"name": "x" * 100, "quantity": 1_000_000}) == NewItem("x" * 100, 1_000_000)


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ([{"name": "rope", "quantity": 1}], [FieldError("$", "must be a JSON object")]),
        ("rope", [FieldError("$", "must be a JSON object")]),
        ({}, [FieldError("name", "is required"), FieldError("quantity", "is required")]),
        ({"name": None, "quantity": 1}, [FieldError("name", "is required")]),
        ({"name": 7, "quantity": 1}, [FieldError("name", "must be a string")]),
        ({"name": " \t", "quantity": 1}, [FieldError("name", "must not be blank")]),
        ({"name": "x" * 101, "quantity": 1}, [FieldError("name", "must be at most 100 characters")]),
        ({"name": "rope", "quantity": True}, [FieldError("quantity", "must be an integer")]),
        ({"name": "rope", "quantity": 1.0}, [FieldError("quantity", "must be an integer")]),
        ({"name": "rope", "quantity": "1"}, [FieldError("quantity", "must be an integer")]),
        ({"name": "rope", "quantity": -1}, [FieldError("quantity", "must be between 0 and 1000000")]),
        ({"name": "rope", "quantity": 1_000_001}, [FieldError("quantity", "must be between 0 and 1000000")]),
        (
            {"name": "rope", "quantity": 1, "quantitiy": 2, "id": 9},
            [FieldError("quantitiy", "unknown field"), FieldError("id", "unknown field")],
        ),
    ],
)
def test_every_broken_constraint_is_reported(doc: object, expected: list[FieldError]) -> None:
    with pytest.raises(ValidationError) as info:
        parse_new_item(doc)
    assert list(info.value.errors) == expected


def test_repository_ids_and_deletes() -> None:
    repo = ItemRepository()
    assert repo.find_all() == []
    a = repo.save(NewItem("a", 1))
    b = repo.save(NewItem("b", 2))
    assert (a.id, b.id) == (1, 2)
    assert repo.find_by_id(2) == b
    assert repo.delete_by_id(1) is True
    assert repo.delete_by_id(1) is False
    assert repo.find_by_id(1) is None
    c = repo.save(NewItem("c", 3))
    assert c.id == 3  # ids are never reused
    assert [item.id for item in repo.find_all()] == [2, 3]


def test_repository_is_safe_across_threads() -> None:
    repo = ItemRepository()
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        barrier.wait()
        for i in range(200):
            repo.save(NewItem(f"{n}-{i}", i))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    items = repo.find_all()
    assert [item.id for item in items] == list(range(1, 1601))
    assert len({item.name for item in items}) == 1600
