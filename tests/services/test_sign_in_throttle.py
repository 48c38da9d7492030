"""E5: sign-in throttling per account and per client address, claimed atomically before the
password is checked — sequentially on both databases, and under a burst of real threads on
PostgreSQL: however many run at once, no more passwords are checked than the limit."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.jobs import housekeeping
from creditdesk.services.access import partners, sign_in
from creditdesk.services.common.context import clock
from tests.concurrency import race, settle

ADMIN, PASSWORD = "admin@acme.test", "correct horse"


class CountingHasher(PasswordHasher):
    """The tests' cheap argon2, counting every password check (a verify, or the hash that
    stands in for one when the email is unknown), each made to take a while, like a real
    one, so that racing requests overlap."""

    def __init__(self, pause: float = 0.0) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.checks, self.pause, self._lock = 0, pause, threading.Lock()

    def _count(self) -> None:
        with self._lock:
            self.checks += 1
        time.sleep(self.pause)

    def verify(self, hash, password) -> bool:
        self._count()
        return super().verify(hash, password)

    def hash(self, password, *, salt=None) -> str:
        self._count()
        return super().hash(password, salt=salt)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch):
    def install(pause: float = 0.0) -> CountingHasher:
        hasher = CountingHasher(pause)
        monkeypatch.setattr(partners, "_hasher", hasher)
        return hasher
    return install


def attempt(db: Database, email: str, password: str = "wrong guess", address: str = "10.0.0.1"):
    return sign_in.sign_in(db, email=email, password=password, address=address)


def test_e5_a_refused_attempt_checks_no_password(db, partner, counting) -> None:
    hasher = counting()
    for _ in range(sign_in.MAX_FAILURES):
        with pytest.raises(errors.Unauthenticated):
            attempt(db, ADMIN)
    with pytest.raises(errors.TooManyAttempts, match="for this email"):
        attempt(db, ADMIN, PASSWORD)  # the right password waits too
    assert hasher.checks == sign_in.MAX_FAILURES


def test_e5_the_account_limit_holds_across_addresses(db, partner) -> None:
    for i in range(sign_in.MAX_FAILURES):
        with pytest.raises(errors.Unauthenticated):
            attempt(db, ADMIN, address=f"10.0.1.{i}")
    with pytest.raises(errors.TooManyAttempts):
        attempt(db, ADMIN, PASSWORD, address="192.0.2.7")


def test_e5_the_address_limit_holds_across_emails(db, partner) -> None:
    for i in range(sign_in.MAX_ADDRESS_FAILURES):
        with pytest.raises(errors.Unauthenticated):
            attempt(db, f"nobody{i}@acme.test")
    with pytest.raises(errors.TooManyAttempts, match="network address"):
        attempt(db, ADMIN, PASSWORD)
    assert attempt(db, ADMIN, PASSWORD, address="10.0.0.2").user_id  # other addresses: fine


def test_e5_right_passwords_give_their_claim_back(db, partner) -> None:
    for _ in range(sign_in.MAX_ADDRESS_FAILURES + sign_in.MAX_FAILURES + 1):
        assert attempt(db, ADMIN, PASSWORD).email == ADMIN


def test_e5_a_refusal_counts_nothing(db, partner) -> None:
    """A claim past the address limit is rolled back whole: the account's count stays."""
    for i in range(sign_in.MAX_ADDRESS_FAILURES):
        with pytest.raises(errors.Unauthenticated):
            attempt(db, f"nobody{i}@acme.test")
    for _ in range(10):
        with pytest.raises(errors.TooManyAttempts):
            attempt(db, ADMIN)
    for i in range(sign_in.MAX_FAILURES - 1):  # from elsewhere the account has all its tries
        with pytest.raises(errors.Unauthenticated):
            attempt(db, ADMIN, address=f"10.9.9.{i}")
    assert attempt(db, ADMIN, PASSWORD, address="10.9.9.9").email == ADMIN


def test_e5_the_window_restarts_and_the_clean_up_drops_spent_counters(
        db, partner, monkeypatch) -> None:
    for _ in range(sign_in.MAX_FAILURES):
        with pytest.raises(errors.Unauthenticated):
            attempt(db, ADMIN)
    later = clock.now() + sign_in.WINDOW + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert housekeeping.run(db)["sign_in_counters"] == 2  # the account's and the address's
    assert attempt(db, ADMIN, PASSWORD).email == ADMIN


# --- the burst: real threads on PostgreSQL -------------------------------------------------

BURST = 100


def burst(url: str, calls) -> list:
    """``calls`` all at once on a pool of their own (20 connections: other tests share the
    server's 100)."""
    db = Database(url, pool_size=20, max_overflow=0)
    try:
        return race([(label, (lambda c=c: c(db))) for label, c in calls])
    finally:
        db.dispose()


def _url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


@pytest.mark.reliability
@pytest.mark.postgres_only
def test_e5_a_parallel_burst_checks_at_most_the_account_limit(pg_db, counting) -> None:
    partners.create_partner(pg_db, name="Acme", admin_email=ADMIN, admin_password=PASSWORD)
    hasher = counting(pause=0.05)
    outcomes = burst(_url(pg_db), [("guess", lambda db, i=i: attempt(
        db, ADMIN, f"guess {i}", address=f"10.1.{i // 250}.{i % 250}")) for i in range(BURST)])
    groups, refused = settle(outcomes, {"guess": (errors.Unauthenticated,
                                                  errors.TooManyAttempts)})
    assert hasher.checks == sign_in.MAX_FAILURES
    wrong = [o for o in refused["guess"] if isinstance(o.error, errors.Unauthenticated)]
    assert len(wrong) == sign_in.MAX_FAILURES and "guess" not in groups
    with pg_db.read() as s:
        assert s.scalar(select(func.max(models.SignInCounter.attempts))) == sign_in.MAX_FAILURES


@pytest.mark.reliability
@pytest.mark.postgres_only
def test_e5_a_parallel_burst_from_one_address_checks_at_most_the_address_limit(
        pg_db, counting) -> None:
    partners.create_partner(pg_db, name="Acme", admin_email=ADMIN, admin_password=PASSWORD)
    hasher = counting(pause=0.05)
    outcomes = burst(_url(pg_db), [("guess", lambda db, i=i: attempt(
        db, f"user{i}@acme.test" if i else ADMIN, address="203.0.113.9"))
        for i in range(BURST)])
    _, refused = settle(outcomes, {"guess": (errors.Unauthenticated, errors.TooManyAttempts)})
    assert hasher.checks == sign_in.MAX_ADDRESS_FAILURES
    assert sum(isinstance(o.error, errors.TooManyAttempts) for o in refused["guess"]) \
        == BURST - sign_in.MAX_ADDRESS_FAILURES
