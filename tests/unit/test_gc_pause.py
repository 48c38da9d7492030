"""services/common/gc_pause: the collector paused around a bulk computation and resumed
exactly as it was found, nested, across threads and on errors."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from creditdesk.services.common import gc_pause


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_paused_inside_resumed_after_even_on_an_error() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), gc_pause.paused():
        assert not gc.isenabled()
        raise RuntimeError("a batch failed")
    assert gc.isenabled()


def test_nested_pauses_resume_once_the_outer_one_ends() -> None:
    gc.enable()
    with gc_pause.paused():
        with gc_pause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_disabled_by_someone_else_stays_disabled() -> None:
    gc.disable()
    with gc_pause.paused():
        pass
    assert not gc.isenabled()


def test_threads_resume_it_when_the_last_one_is_done() -> None:
    gc.enable()
    inside, leave_first = threading.Barrier(2), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with gc_pause.paused():
            inside.wait(5)
            leave_first.wait(5)

    def second() -> None:
        with gc_pause.paused():
            inside.wait(5)
        seen.append(gc.isenabled())  # the first thread is still inside
        leave_first.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [False] and gc.isenabled()
