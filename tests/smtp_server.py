"""A real local SMTP server for D2's tests (aiosmtpd on 127.0.0.1): what arrived, read
back as parsed messages; it can be told to refuse the next messages with an answer."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Inbox:
    """What the server received, and what it should answer next."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse_next: int = 0  # that many DATA commands answered with ``refusal``
    refusal: str = "451 4.3.0 Mailbox temporarily unavailable"
    host: str = "127.0.0.1"
    port: int = 0


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.inbox.refuse_next:
            self.inbox.refuse_next -= 1
            return self.inbox.refusal
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.inbox.messages.append(msg)
        self.inbox.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A running server; CREDITDESK_ALLOW_PRIVATE_URLS=1 so that 127.0.0.1 is allowed."""
    monkeypatch.setenv("CREDITDESK_ALLOW_PRIVATE_URLS", "1")
    inbox = Inbox(port=_free_port())
    controller = Controller(_Handler(inbox), hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
