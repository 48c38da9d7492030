"""New ids: a prefix and a lower-case ULID (decisions.md, *ULID-based, prefixed ids*)."""

from __future__ import annotations

import re
import threading

import ulid
from hypothesis import given
from hypothesis import strategies as st

from creditdesk.services.common import context
from creditdesk.services.common.context import new_id


def test_an_id_is_a_prefix_and_a_lower_case_ulid_of_now() -> None:
    before = ulid.ULID().milliseconds
    made = new_id("cm")
    assert re.fullmatch(r"cm_[0-9a-hjkmnp-tv-z]{26}", made)
    value = ulid.ULID.from_str(made[3:].upper())
    assert str(value).lower() == made[3:]
    assert before <= value.milliseconds <= ulid.ULID().milliseconds


def test_ids_sort_in_creation_order_within_a_millisecond_and_never_repeat() -> None:
    made = [new_id("evt") for _ in range(20_000)]  # many per millisecond
    assert made == sorted(made) and len(set(made)) == len(made)


def test_ids_made_by_threads_at_once_never_repeat() -> None:
    made: list[str] = []

    def make() -> None:
        made.extend(new_id("cml") for _ in range(5_000))
    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 20_000


@given(st.binary(min_size=16, max_size=16))
def test_the_encoding_is_crockford_base32_as_python_ulid_writes_it(raw: bytes) -> None:
    class Fixed:
        def generate(self) -> ulid.ULID:
            return ulid.ULID.from_bytes(raw)

    real, ulid.default_generator = ulid.default_generator, Fixed()  # type: ignore[assignment]
    try:
        made = context.new_id("x")
    finally:
        ulid.default_generator = real
    assert made == "x_" + str(ulid.ULID.from_bytes(raw)).lower()
