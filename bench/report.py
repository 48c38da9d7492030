"""Markdown tables of the latest results, for docs/benchmarks.md: ``python -m bench.report``.

Reads bench/results/*.json (written by the benchmarks) and prints one table per benchmark.
"""

from __future__ import annotations

import json

from bench.common import RESULTS


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _met(flag: bool | None) -> str:
    return "—" if flag is None else ("met" if flag else "**missed**")


def b1(d: dict) -> list[str]:
    out = ["| backend | apply_credit ops/s | bare loop ops/s | ratio (target ≥ 0.35) | "
           "ms/op at 1,000 rows | ms/op at 100,000 rows | growth (target ≤ 1.2) |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for backend, r in d["backends"].items():
        tp, sc = r["throughput"], r["scaling"]
        out.append(f"| {backend} | {tp['service_ops_per_s']:,.0f} | "
                   f"{tp['baseline_ops_per_s']:,.0f} | {tp['ratio']:.3f} ({_met(tp['met'])}) | "
                   f"{sc['ms_per_op_small']:.2f} | "
                   f"{sc['ms_per_op_large']:.2f} | {sc['large_over_small']:.2f} ({_met(sc['met'])})"
                   " |")
    return out


def b2(d: dict) -> list[str]:
    out = ["| N | phase | CreditDesk ops/s | peer ops/s | ratio (target ≥ 20x) | "
           "share of its floor | SQL/op | CreditDesk first→last tenth ms | "
           "peer first→last tenth ms |",
           "|---:|---|---:|---:|---:|---|---:|---|---|"]
    for run in d["runs"]:
        for letter, p in run["phases"].items():
            peer = f"{p['peer_ops_per_s']:,.1f}" if "peer_ops_per_s" in p else "—"
            ratio = f"{p['ratio']:.1f}x" if "ratio" in p else "—"
            if "met" in p:
                ratio += f" ({_met(p['met'])})"
            elif "ratio" in p:
                ratio += " (reference)"
            floor = (f"{p['ratio_to_floor']:.3f} (target {p['floor_target']}: "
                     f"{_met(p['floor_met'])})" if "ratio_to_floor" in p else "—")
            cd = p.get("creditdesk_first_last_decile_ms")
            pe = p.get("peer_first_last_decile_ms")
            out.append(f"| {run['N']:,} | ({letter}) {p['what']} | "
                       f"{p['creditdesk_ops_per_s']:,.1f} | {peer} | {ratio} | {floor} | "
                       f"{p.get('creditdesk_sql_per_op', '—')} | "
                       f"{f'{cd[0]:.2f}→{cd[1]:.2f}' if cd else '—'} | "
                       f"{f'{pe[0]:.2f}→{pe[1]:.2f}' if pe else '—'} |")
    return out


def b3(d: dict) -> list[str]:
    out = ["| request | throughput/s | p50 ms | p99 ms | max ms | server CPU ms/request |",
           "|---|---:|---:|---:|---:|---:|"]
    for name in ("healthz", "apply"):
        r = d[name]
        out.append(f"| {name} | {r['throughput_per_s']:,.0f} | {r['p50_ms']:.1f} | "
                   f"{r['p99_ms']:.1f} | {r['max_ms']:.1f} | "
                   f"{r.get('server_cpu_ms_per_request', float('nan')):.2f} |")
    rt = d["ratios_to_healthz"]
    out.append(f"\napply / healthz: p50 {rt['p50_ms']:.1f}x, p99 {rt['p99_ms']:.1f}x, throughput "
               f"{rt['throughput']:.3f}x; target apply p99 < 50 ms: {_met(d['met'])}; server RSS "
               f"{d['server_rss']['total_mb']:.0f} MB over {d['server_rss']['processes']} "
               "processes")
    return out


def b4(d: dict) -> list[str]:
    out = ["| read | p50 ms | p99 ms | baseline p99 ms | p99 / baseline | target | |",
           "|---|---:|---:|---:|---:|---|---|"]
    s = d["service"]
    cs = s["credit_summary"]
    out.append(f"| service credit_summary | {cs['p50_ms']:.2f} | {cs['p99_ms']:.2f} | "
               f"{s['select_1']['p99_ms']:.2f} (SELECT 1) | {cs['p99_over_select_1_p99']:.1f}x | "
               f"< 5 ms | {_met(cs['met'])} |")
    h = d["http"]
    hz = h["healthz"]["p99_ms"]
    rows = [("GET credit-summary", h["credit_summary"], "< 5 ms")]
    rows += [(f"GET /credit-memos?{k}", v, "< 20 ms") for k, v in h["lists"].items()]
    for label, r, target in rows:
        out.append(f"| {label} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {hz:.2f} (healthz) | "
                   f"{r['p99_ms'] / hz:.1f}x | {target} | {_met(r['met'])} |")
    m = d["server_rss"]
    out.append(f"\nServer RSS after the reads: largest process {m['max_process_mb']:.0f} MB, all "
               f"{m['processes']} processes {m['total_mb']:.0f} MB (target < 300 MB: "
               f"{_met(m['met'])}).\n\nPlans (EXPLAIN ANALYZE, ms): " + "; ".join(
                   f"{k}: {v['execution_ms']:.2f} via "
                   f"{'/'.join(n for n in v['plan'] if n != 'Limit')}"
                   for k, v in d["explain"].items()))
    return out


def b6(d: dict) -> list[str]:
    target = r"full sync s (target < 90)" if d.get("invoices") else "full sync s (target < 60)"
    out = [f"| provider | backend | baseline s | {target} | x baseline | "
           "incremental s (target < 2) | updated / voided | worker peak RSS MB (< 300) |",
           "|---|---|---:|---:|---:|---:|---|---:|"]
    for provider, runs in d["runs"].items():
        for backend, r in runs.items():
            full, inc, mem = r["full_sync"], r["incremental_sync"], r["worker_memory"]
            base = r["baseline_page_through"]["seconds"]
            out.append(f"| {provider} | {backend} | {base:.1f} | "
                       f"{full['seconds']:.1f} ({_met(full['met'])}) | "
                       f"{full['over_baseline']:.2f}x | "
                       f"{inc['seconds']:.2f} ({_met(inc['met'])}) | "
                       f"{inc['updated']} / {inc['voided']} | "
                       f"{mem['peak_rss_mb']:.0f} ({_met(mem['met'])}) |")
    return out


def b9(d: dict) -> list[str]:
    out = ["| provider | backend | write-backs | drained s (target < 60) | per s | "
           "attempts / read-back syncs | applied here / written in the fake | "
           "worker peak RSS MB (< 300) |",
           "|---|---|---:|---:|---:|---|---|---:|"]
    for provider, runs in d["runs"].items():
        for backend, r in runs.items():
            dr, mem = r["drain"], r["worker_memory"]
            out.append(f"| {provider} | {backend} | {r['write_backs']:,} | "
                       f"{dr['seconds']:.1f} ({_met(dr['met'])}) | {dr['per_second']} | "
                       f"{dr['attempts']} / {dr['sync_runs']} | "
                       f"{dr['statuses_after'].get('applied', 0)} / {dr['written_in_fake']} | "
                       f"{mem['peak_rss_mb']:.0f} ({_met(mem['met'])}) |")
    return out


def b8(d: dict) -> list[str]:
    out = ["| request | server CPU ms/request | ratio to the bare app | target |",
           "|---|---:|---:|---|"]
    for row in d["kinds"].values():
        target = f"{row['target']} ({_met(row['met'])})" if "target" in row else "floor"
        out.append(f"| {row['what']} | {row['server_cpu_ms_per_request']:.3f} | "
                   f"{row['ratio_to_bare']:.1f}x | {target} |")
    return out


def b11(d: dict) -> list[str]:
    w, dr = d["whole_pdf"], d["drawing_only"]
    return ["| memo lines | pages | whole PDF p50 / p90 ms (target < 200) | drawing alone p50 ms |",
            "|---:|---:|---:|---:|",
            f"| {d['lines']} | {d['pages']} | {w['p50_ms']:.1f} / {w['p90_ms']:.1f} "
            f"({_met(d['met'])}) | {dr['p50_ms']:.1f} |"]


def main() -> None:
    for name, fn in (("b1_apply", b1), ("b2_peer", b2), ("b3_http", b3), ("b4_reads", b4),
                     ("b6_sync", b6), ("b6_sync_invoices", b6), ("b8_server_cpu", b8),
                     ("b9_write_back", b9), ("b11_memo_pdf", b11)):
        d = _load(name)
        if not d:
            continue
        print(f"### {name} ({d['at']}, {'quick' if d.get('quick') else 'full'} run, "
              f"load average at start {d['machine']['loadavg_at_start']})\n")
        print("\n".join(fn(d)) + "\n")


if __name__ == "__main__":
    main()
