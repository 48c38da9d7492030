"""D2 over TLS for real: the partner's SMTP server speaks STARTTLS or implicit TLS (aiosmtpd
with a certificate of a local test authority); the message goes only inside a verified TLS
session, and a certificate the machine does not trust is a failure with its words — never a
fall back to plain text."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from creditdesk.services.customer_accounts import customers
from creditdesk.services.documents import deliveries, delivery_job, email_settings
from tests import factories
from tests.smtp_server import Inbox, _free_port, _Handler


@dataclass(frozen=True)
class Pki:
    ca: Path  # the test authority's certificate (what a machine trusts)
    server: ssl.SSLContext  # the SMTP server's side: its certificate and key


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A local certificate authority and a certificate for localhost / 127.0.0.1."""
    where = tmp_path_factory.mktemp("pki")
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder().subject_name(_name("CreditDesk test CA"))
               .issuer_name(_name("CreditDesk test CA")).public_key(ca_key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, key_cert_sign=True, crl_sign=True,
                   content_commitment=False, key_encipherment=False, data_encipherment=False,
                   key_agreement=False, encipher_only=False, decipher_only=False),
                   critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                              critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("localhost"))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (where / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (where / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (where / "server.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(where / "server.pem", where / "server.key")
    return Pki(where / "ca.pem", server)


class _Recording(_Handler):
    """Records, with each message, whether it came inside a TLS session."""

    def __init__(self, inbox: Inbox, sessions: list[bool]) -> None:
        super().__init__(inbox)
        self.sessions = sessions

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # STARTTLS upgrades the session (session.ssl); implicit TLS is the transport's own
        self.sessions.append(session.ssl is not None
                             or server.transport.get_extra_info("ssl_object") is not None)
        return await super().handle_DATA(server, session, envelope)


@dataclass
class TlsServer:
    inbox: Inbox
    tls_sessions: list[bool]


def _serve(pki: Pki, monkeypatch: pytest.MonkeyPatch, *, implicit: bool) -> Iterator[TlsServer]:
    monkeypatch.setenv("CREDITDESK_ALLOW_PRIVATE_URLS", "1")
    inbox, sessions = Inbox(host="localhost", port=_free_port()), []
    handler = _Recording(inbox, sessions)
    if implicit:
        controller = Controller(handler, hostname="127.0.0.1", port=inbox.port,
                                ssl_context=pki.server, server_hostname="localhost")
    else:  # STARTTLS: the server refuses MAIL until the session is encrypted
        controller = Controller(handler, hostname="127.0.0.1", port=inbox.port,
                                tls_context=pki.server, require_starttls=True)
    controller.start()
    try:
        yield TlsServer(inbox, sessions)
    finally:
        controller.stop()


@pytest.fixture
def starttls_server(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> Iterator[TlsServer]:
    yield from _serve(pki, monkeypatch, implicit=False)


@pytest.fixture
def tls_server(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> Iterator[TlsServer]:
    yield from _serve(pki, monkeypatch, implicit=True)


@pytest.fixture
def memo_id(db, actor) -> str:
    cid = customers.create_customer(db, actor=actor, name="Globex",
                                    email="ap@globex.test").id
    return factories.memo(db, actor, cid, "45.00")


def _send(db, actor, memo_id: str, server: TlsServer, security: str):
    email_settings.replace_settings(db, actor=actor, host=server.inbox.host,
                                    port=server.inbox.port, security=security, username=None,
                                    from_address="billing@acme.test")
    d = deliveries.request_send(db, actor=actor, memo_id=memo_id)
    delivery_job.run_due(db, base_seconds=1)
    [row] = deliveries.list_deliveries(db, actor=actor, memo_id=memo_id)
    assert row.id == d.id
    return row


def test_d2_starttls_to_a_trusted_certificate_sends_inside_tls(
        db, actor, memo_id, starttls_server, pki, monkeypatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))  # the machine trusts the test authority
    row = _send(db, actor, memo_id, starttls_server, "starttls")
    assert row.status == "sent", row.last_error
    assert starttls_server.tls_sessions == [True]
    assert [m["To"] for m in starttls_server.inbox.messages] == ["ap@globex.test"]


def test_d2_implicit_tls_to_a_trusted_certificate_sends_inside_tls(
        db, actor, memo_id, tls_server, pki, monkeypatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))
    row = _send(db, actor, memo_id, tls_server, "tls")
    assert row.status == "sent", row.last_error
    assert tls_server.tls_sessions == [True] and len(tls_server.inbox.messages) == 1


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_d2_an_untrusted_certificate_is_a_failure_never_plain_text(
        db, actor, memo_id, starttls_server, tls_server, security, monkeypatch,
        tmp_path) -> None:
    empty = tmp_path / "no-authorities.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))  # trusts nothing: not our test authority
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    server = starttls_server if security == "starttls" else tls_server
    row = _send(db, actor, memo_id, server, security)
    assert row.status == "failed" and "CERTIFICATE_VERIFY_FAILED" in row.last_error
    assert row.next_attempt_at is not None  # retried: the partner may fix the certificate
    assert server.inbox.messages == [] and server.tls_sessions == []


def test_d2_starttls_required_by_the_server_refuses_a_plain_sender(
        db, actor, memo_id, starttls_server) -> None:
    """The fixture's server is honest about requiring STARTTLS (so the tests above prove
    the client used it): a client set to "none" is refused before anything is sent."""
    row = _send(db, actor, memo_id, starttls_server, "none")
    assert row.status == "failed" and "530" in row.last_error
    assert starttls_server.inbox.messages == []
