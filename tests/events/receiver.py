"""A webhook receiver for the tests: records each request (headers, body) and answers
what the test asks (a status per attempt of each event id, or a failing share of first
attempts for the bench)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.local_server import serve


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """``answer(event_id, attempt_no) -> status``: 200 unless told otherwise."""

    answer: Callable[[str, int], int] = lambda event_id, n: 200
    got: list[Received] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope, receive, send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        event_id = json.loads(body)["id"] if body else ""
        with self.lock:
            self.got.append(Received(headers, body))
            n = self.seen[event_id] = self.seen.get(event_id, 0) + 1
        status = self.answer(event_id, n)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": f"answer {status}".encode()})

    def events(self) -> list[dict]:
        with self.lock:
            return [r.event for r in self.got]


@contextmanager
def running(receiver: Receiver) -> Iterator[str]:
    with serve(receiver, "webhook receiver") as base:
        yield base + "/hooks"
