"""Run the benchmarks: ``python -m bench [b1 ... b9] [--quick] [--n N] ...``.

Without names every benchmark runs, in order; ``--quick`` uses small sizes for development.
The full run (no ``--quick``) is what docs/benchmarks.md reports.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

BENCHMARKS = {"b1": "bench.b1_apply", "b2": "bench.b2_peer", "b3": "bench.b3_http",
              "b4": "bench.b4_reads", "b5": "bench.b5_suggestions",
              "b6": "bench.b6_sync", "b7": "bench.b7_pages",
              "b8": "bench.b8_server_cpu", "b9": "bench.b9_write_back",
              "b10": "bench.b10_export", "b11": "bench.b11_memo_pdf",
              "b12": "bench.b12_webhooks"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], metavar="NAME",
                   help="benchmarks to run (b1 ... b11; default: all)")
    p.add_argument("--quick", action="store_true", help="small sizes, for development")
    p.add_argument("--n", type=int, help="override the main size (B1: applications; B2: W(N) "
                   "with this one N; B3: requests per client; B4: memos; B5: customers of the "
                   "whole-partner refresh; B6: memos in the fake QuickBooks Online and Xero; "
                   "B7: memos; B8: applications, reads twice and /healthz four times as many; "
                   "B9: write-backs; B10: memos exported; B11: a memo's PDF; "
                   "B12: events)")
    p.add_argument("--backend", choices=["sqlite", "postgres"],
                   help="B1/B5/B6/B7/B9/B10: one backend only")
    p.add_argument("--provider", choices=["quickbooks_online", "xero"],
                   help="B6/B9: one provider only")
    p.add_argument("--records", choices=["memos", "invoices", "both"], default="both",
                   help="B6: memos only, memos with as many invoices (issue 13), or both")
    p.add_argument("--workers", type=int, default=2, help="B3/B4/B7: server worker processes")
    p.add_argument("--clients", type=int, default=16, help="B3: concurrent clients")
    p.add_argument("--profile", action="store_true",
                   help="B2: also run CreditDesk's W(N) under cProfile and print hot spots; "
                   "B9: the drain under cProfile")
    p.add_argument("--no-peer", action="store_true", help="B2: CreditDesk side only")
    p.add_argument("--explain", action="store_true", help="B4: print the query plans")
    p.add_argument("--keep", action="store_true",
                   help="B4: keep (and reuse) the loaded database creditdesk_bench_reads")
    return p


def main(argv: list[str] | None = None) -> int:
    opts = parser().parse_args(argv)
    names = opts.names or list(BENCHMARKS)
    started = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        print(f"== {name} ({'quick' if opts.quick else 'full'}) ==", flush=True)
        importlib.import_module(BENCHMARKS[name]).run(opts)
        print(f"== {name} done in {time.perf_counter() - t0:.0f} s ==", flush=True)
    print(f"all done in {time.perf_counter() - started:.0f} s; results in bench/results/",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
