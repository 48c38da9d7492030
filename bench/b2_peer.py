"""B2: workload W(N) of shared/bench/README.md on CreditDesk's service layer, side by side
with the peer python-accounting 2.0.0 (/work/shared/bench/peer_python_accounting.py).

W(N), one customer, one currency: (a) N invoices of 100.00 created and issued; (b) N memos of
60.00 created and issued; (c) memo i applied to invoice i for 60.00; (d) every invoice's
balance due read (total 40.00 x N); (e) every memo's remaining credit read (total 0).
Each side runs in a fresh process on a fresh SQLite file: the peer with SQLite's default
journal, CreditDesk with its own default (WAL, synchronous=FULL). (d) and (e) read one item
per service call (``get_invoice``/``get_memo``), as the peer does; ``d_list``/``e_list``
read the same figures through the paged lists (200 a page) for reference, and ``floor`` is
the least a per-item read can cost through SQLAlchemy at all (a pooled connection and one
prebuilt SELECT of one value, no service), to show what a per-item read phase can reach.
``floor_a``/``floor_b`` are the same for (a) and (b): a bare sqlite3 loop on the same file,
at the same durability, doing only the minimal writes of create + issue, each its own
transaction as in the services (create: the number from the partner's counter, the document
row, for an invoice its one line; issue: the status), for another partner so that the reads
of (d) and (e) don't see them. A phase and its floor are taken in turns (5 rounds of N/5),
so that load from other work on the shared machine hits both alike.
Targets: CreditDesk >= 20x the peer's ops/s in every phase; (a) and (b) >= 0.25 of their
bare write loop; (d) and (e) >= 0.35 of the one-row read floor.
``python -m bench.b2_peer worker N DBPATH [--profile]`` is CreditDesk's side alone.
"""

from __future__ import annotations

import cProfile
import gc
import json
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event

from bench import common

PEER_SCRIPT = Path(os.environ.get("CREDITDESK_PEER_SCRIPT",
                                  "/work/shared/bench/peer_python_accounting.py"))
PEER_SETUP = PEER_SCRIPT.with_name("setup_peer.sh")
ROOT = Path(__file__).resolve().parent.parent
PEER_VENV = ROOT / "bench" / ".peer-venv"
PHASES = (("a", "a_invoices", "invoices created+issued"),
          ("b", "b_credit_notes", "memos created+issued"),
          ("c", "c_assignments", "applications"),
          ("d", "d_read_outstanding", "read balance due"),
          ("e", "e_read_cn_balance", "read memo remaining"))
TARGET = 20.0
ROUNDS = 5  # turns of a phase and its floor
WRITE_FLOOR_TARGET = 0.25  # (a), (b) as a share of the bare write loop
READ_FLOOR_TARGET = 0.35  # (d), (e) as a share of the one-row Core read


def _phase(res: dict, key: str, n: int, ops: Callable[[int], None], queries: list[int]) -> None:
    """Run ``ops(i)`` for i in 0..n-1; record whole time, ops/s, deciles and SQL per op."""
    _phases(res, n, [(key, ops)], queries, rounds=1)


def _phases(res: dict, n: int, phases: list[tuple[str, Callable[[int], None]]],
            queries: list[int], rounds: int = ROUNDS) -> None:
    """``_phase`` of several phases taken in turns, ``n / rounds`` operations at a time, so
    that load from other work on the shared machine hits a phase and its floor alike."""
    gc.collect()
    keys = [key for key, _ in phases]
    per: dict[str, list[float]] = {key: [] for key in keys}
    total, sql = dict.fromkeys(keys, 0.0), dict.fromkeys(keys, 0)
    size = -(-n // rounds)
    for first in range(0, n, size):
        for key, ops in phases:
            q0, t0 = queries[0], time.perf_counter()
            for i in range(first, min(n, first + size)):
                s = time.perf_counter()
                ops(i)
                per[key].append(time.perf_counter() - s)
            total[key] += time.perf_counter() - t0
            sql[key] += queries[0] - q0
    k = max(1, n // 10)
    for key in keys:
        res[f"{key}_s"] = total[key]
        res[f"{key}_ops_per_s"] = n / total[key]
        res[f"{key}_first_decile_ms"] = sum(per[key][:k]) / k * 1e3
        res[f"{key}_last_decile_ms"] = sum(per[key][-k:]) / k * 1e3
        res[f"{key}_sql_per_op"] = sql[key] / n


def _bare_writes(path: str, partner_id: str, customer_id: str) -> tuple[Callable, Callable]:
    """(a) and (b)'s floor: the minimal writes of create + issue straight through sqlite3,
    at CreditDesk's durability (WAL, synchronous=FULL), two transactions per document."""
    import sqlite3

    from creditdesk.services.common.context import clock, new_id

    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                   "busy_timeout=60000"):
        conn.execute(f"PRAGMA {pragma}")
    bump = ("UPDATE counters SET value = value + 1 WHERE partner_id = ? AND name = ? "
            "RETURNING value")

    def now() -> str:
        return clock.now().replace(tzinfo=None).isoformat(" ")

    def invoice(i: int) -> None:
        at, inv = now(), new_id("inv")
        conn.execute("BEGIN IMMEDIATE")
        number = conn.execute(bump, (partner_id, "invoice")).fetchone()[0]
        conn.execute(
            "INSERT INTO invoices (id, partner_id, customer_id, number, currency, status, "
            "total_minor, paid_minor, credited_minor, notes, created_at, updated_at) VALUES "
            "(?, ?, ?, ?, 'USD', 'draft', 10000, 0, 0, NULL, ?, ?)",
            (inv, partner_id, customer_id, f"INV-{number:04d}", at, at))
        conn.execute(
            "INSERT INTO invoice_lines (id, partner_id, invoice_id, position, description, "
            "quantity, unit_price_minor, amount_minor) VALUES (?, ?, ?, 0, ?, 1, 10000, 10000)",
            (new_id("il"), partner_id, inv, f"Invoice {i}"))
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE invoices SET status = 'open', issued_at = ?, issue_date = ?, "
                     "updated_at = ? WHERE id = ?", (at, at[:10], at, inv))
        conn.execute("COMMIT")

    def memo(i: int) -> None:
        at, cm = now(), new_id("cm")
        conn.execute("BEGIN IMMEDIATE")
        number = conn.execute(bump, (partner_id, "credit_memo")).fetchone()[0]
        conn.execute(
            "INSERT INTO credit_memos (id, partner_id, customer_id, number, currency, reason, "
            "status, total_minor, applied_minor, notes, source, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'USD', 'goodwill', 'draft', 6000, 0, ?, 'native', ?, ?)",
            (cm, partner_id, customer_id, f"CM-{number:04d}", f"Credit note {i}", at, at))
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE credit_memos SET status = 'issued', issued_at = ?, "
                     "issue_date = ?, updated_at = ? WHERE id = ?", (at, at[:10], at, cm))
        conn.execute("COMMIT")

    return invoice, memo


def worker(n: int, path: str, profile: bool = False) -> dict:
    """CreditDesk's W(N) in this process, on a fresh SQLite file at ``path``."""
    from sqlalchemy import bindparam, select

    from creditdesk.db import models
    from creditdesk.services.credit_memos import credit, memo_lifecycle, memos
    from creditdesk.services.customer_accounts import customers
    from creditdesk.services.invoicing import invoices

    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)
    db = common.migrated(f"sqlite:///{path}")
    actor, _ = common.new_partner(db)
    cid = customers.create_customer(db, actor=actor, name="The one customer").id
    other, _ = common.new_partner(db, "Bare loop Co")
    bare_invoice, bare_memo = _bare_writes(
        path, other.partner_id,
        customers.create_customer(db, actor=other, name="The bare loop's customer").id)
    queries = [0]
    event.listen(db.engine, "before_cursor_execute",
                 lambda *_a, **_k: queries.__setitem__(0, queries[0] + 1))
    inv_ids: list[str] = []
    memo_ids: list[str] = []

    def invoice(i: int) -> None:
        inv = invoices.create_invoice(db, actor=actor, customer_id=cid, lines=[
            {"description": f"Invoice {i}", "quantity": 1, "unit_price": "100.00"}])
        inv_ids.append(invoices.issue_invoice(db, actor=actor, invoice_id=inv.id).id)

    def memo(i: int) -> None:
        m = memos.create_memo(db, actor=actor, customer_id=cid, reason="goodwill",
                              amount="60.00", notes=f"Credit note {i}")
        memo_ids.append(memo_lifecycle.issue_memo(db, actor=actor, memo_id=m.id).id)

    def apply(i: int) -> None:
        credit.apply_credit_only(db, actor=actor, memo_id=memo_ids[i], invoice_id=inv_ids[i],
                                 amount="60.00")

    sums = {"d": 0, "e": 0, "d_list": 0, "e_list": 0, "floor": 0}
    remaining = (select(models.CreditMemo.total_minor - models.CreditMemo.applied_minor)
                 .where(models.CreditMemo.id == bindparam("id")))

    def floor_read(i: int) -> None:
        """The least any per-item read through SQLAlchemy costs: a pooled connection, one
        prebuilt SELECT of one value by primary key, no transaction, no ORM, no view."""
        with db.engine.connect() as conn:
            sums["floor"] += conn.execute(remaining, {"id": memo_ids[i]}).scalar_one()

    def read_invoice(i: int) -> None:
        sums["d"] += invoices.get_invoice(db, actor=actor, invoice_id=inv_ids[i]).balance_due.minor

    def read_memo(i: int) -> None:
        sums["e"] += memos.get_memo(db, actor=actor, memo_id=memo_ids[i]).remaining_amount.minor

    def paged(lister: Callable, key: str, field: str) -> Callable[[int], None]:
        state = {"cursor": None}

        def page(_i: int) -> None:
            got = lister(db, actor=actor, limit=200, cursor=state["cursor"])
            sums[key] += sum(getattr(v, field).minor for v in got.data)
            state["cursor"] = got.next_cursor
        return page

    res: dict = {"side": "creditdesk", "N": n, "database": "sqlite (WAL, synchronous=FULL)"}
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    # Each phase of W(N) in turns with its floor (the reads' floor after both reads).
    _phases(res, n, [("floor_a", bare_invoice), ("a_invoices", invoice)], queries)
    _phases(res, n, [("floor_b", bare_memo), ("b_credit_notes", memo)], queries)
    _phase(res, "c_assignments", n, apply, queries)
    _phases(res, n, [("d_read_outstanding", read_invoice), ("e_read_cn_balance", read_memo),
                     ("floor_read", floor_read)], queries)
    pages = -(-n // 200)
    _phase(res, "d_list", pages, paged(invoices.list_invoices, "d_list", "balance_due"), queries)
    _phase(res, "e_list", pages, paged(memos.list_memos, "e_list", "remaining_amount"), queries)
    if prof:
        prof.disable()
        _print_profile(prof)
    for key in ("d_list", "e_list"):  # items/s, not pages/s
        res[f"{key}_ops_per_s"] = n / res[f"{key}_s"]
    assert sums["d"] == sums["d_list"] == 4_000 * n, sums
    assert sums["e"] == sums["e_list"] == sums["floor"] == 0, sums
    res["check_total_outstanding_minor"] = sums["d"]
    res["db_bytes"] = os.path.getsize(path)
    db.dispose()
    return res


def _print_profile(prof: cProfile.Profile) -> None:
    stats = pstats.Stats(prof, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(r"creditdesk|sqlite3", 40)
    stats.sort_stats("tottime").print_stats(25)


def _run_json(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    if out.stderr.strip():
        print(out.stderr, file=sys.stderr, flush=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _peer(n: int, path: Path) -> dict:
    if not (PEER_VENV / "bin" / "python").exists():
        subprocess.run(["bash", str(PEER_SETUP), str(PEER_VENV)], check=True)
    return _run_json([str(PEER_VENV / "bin" / "python"), str(PEER_SCRIPT), str(n), str(path)])


def compare(n: int, workdir: Path, opts) -> dict:
    mine = _run_json([sys.executable, "-m", "bench.b2_peer", "worker", str(n),
                      str(workdir / f"creditdesk-{n}.db")] + (["--profile"] if opts.profile
                                                              else []))
    peer = None if opts.no_peer else _peer(n, workdir / f"peer-{n}.db")
    phases = {}
    for letter, key, label in PHASES:
        row = {"what": label, "creditdesk_ops_per_s": round(mine[f"{key}_ops_per_s"], 1),
               "creditdesk_sql_per_op": round(mine[f"{key}_sql_per_op"], 2),
               "creditdesk_first_last_decile_ms": [round(mine[f"{key}_first_decile_ms"], 3),
                                                   round(mine[f"{key}_last_decile_ms"], 3)]}
        if peer:
            row["peer_ops_per_s"] = round(peer[f"{key}_ops_per_s"], 1)
            row["peer_first_last_decile_ms"] = [round(peer[f"{letter}_first_decile_ms"], 3),
                                                round(peer[f"{letter}_last_decile_ms"], 3)
                                                ] if f"{letter}_first_decile_ms" in peer else None
            row["ratio"] = common.ratio(mine[f"{key}_ops_per_s"], peer[f"{key}_ops_per_s"])
            row["met"] = row["ratio"] >= TARGET
        phases[letter] = row
        if letter in "ab":  # against the bare write loop of the same writes
            floor_ops = mine[f"floor_{letter}_ops_per_s"]
            row["floor_ops_per_s"] = round(floor_ops, 1)
            row["ratio_to_floor"] = common.ratio(mine[f"{key}_ops_per_s"], floor_ops)
            row["floor_target"] = f">= {WRITE_FLOOR_TARGET}"
            row["floor_met"] = row["ratio_to_floor"] >= WRITE_FLOOR_TARGET
        if letter in "de":  # against the one-row Core read
            floor_ops = mine["floor_read_ops_per_s"]
            row["floor_ops_per_s"] = round(floor_ops, 1)
            row["ratio_to_floor"] = common.ratio(mine[f"{key}_ops_per_s"], floor_ops)
            row["floor_target"] = f">= {READ_FLOOR_TARGET}"
            row["floor_met"] = row["ratio_to_floor"] >= READ_FLOOR_TARGET
        if letter in "de":
            lk = f"{letter}_list"
            phases[lk] = {"what": label + " via the paged list (items/s)",
                          "creditdesk_ops_per_s": round(mine[f"{lk}_ops_per_s"], 1)}
            if peer:
                phases[lk]["ratio"] = common.ratio(mine[f"{lk}_ops_per_s"],
                                                   peer[f"{key}_ops_per_s"])
    floor = {"what": "floor: one row read through SQLAlchemy Core, no service",
             "creditdesk_ops_per_s": round(mine["floor_read_ops_per_s"], 1)}
    if peer:  # a per-item read phase can reach 20x the peer only if this floor can
        floor["ratio"] = common.ratio(mine["floor_read_ops_per_s"],
                                      peer["d_read_outstanding_ops_per_s"])
    phases["floor"] = floor
    for letter, row in phases.items():
        line = (f"B2 N={n:<6} ({letter}) {row['what']:<44} "
                f"CreditDesk {row['creditdesk_ops_per_s']:>9.1f}/s")
        if "peer_ops_per_s" in row:
            line += (f"  peer {row['peer_ops_per_s']:>8.1f}/s  ratio {row['ratio']:>7.2f}x "
                     f"(target >= {TARGET:.0f}x) {common.verdict(row['met'])}")
        elif "ratio" in row:
            line += f"  ratio to the peer's per-item read {row['ratio']:>7.2f}x (reference)"
        common.say(line)
        if "ratio_to_floor" in row:
            common.say(f"B2 N={n:<6} ({letter}) {'... as a share of its floor':<44} "
                       f"floor      {row['floor_ops_per_s']:>9.1f}/s  ratio "
                       f"{row['ratio_to_floor']:>7.3f} (target {row['floor_target']}) "
                       f"{common.verdict(row['floor_met'])}")
    return {"N": n, "phases": phases}


def run(opts) -> dict:
    sizes = [opts.n] if opts.n else ([200, 1_000] if opts.quick else [1_000, 10_000])
    out: dict = {"quick": opts.quick, "target": f">= {TARGET:.0f}x the peer in every phase",
                 "creditdesk_database": "sqlite (WAL, synchronous=FULL)",
                 "peer_database": "sqlite (default journal)", "runs": []}
    with common.scratch_dir("b2") as workdir:
        for n in sizes:
            out["runs"].append(compare(n, workdir, opts))
    common.write_result("b2_peer", out, dev=common.is_dev(opts))
    return out


if __name__ == "__main__" and len(sys.argv) >= 4 and sys.argv[1] == "worker":
    print(json.dumps(worker(int(sys.argv[2]), sys.argv[3], "--profile" in sys.argv)))
