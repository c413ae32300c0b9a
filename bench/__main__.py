"""`python -m bench [NAME...]`: run benchmarks with their baselines, print the table, write JSON."""

from __future__ import annotations

import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from bench import (
    baselines,
    console,
    dossiers,
    jobs,
    mutual_aid,
    notifications,
    replay,
    student_aid,
)
from bench.harness import Context, Environment, HarnessError, Result, progress, render_table


@dataclass(frozen=True)
class Benchmark:
    run: Callable[[Context], Result]
    needs: tuple[str, ...] = ()  # run first, in the same run (baselines, or what it measures after)
    takes_env: bool = False


# In the order they run: baselines first, then the figures anchored on them.
BENCHMARKS: dict[str, Benchmark] = {
    "raw_store": Benchmark(baselines.raw_store, takes_env=True),
    "raw_broker": Benchmark(baselines.raw_broker, takes_env=True),
    "raw_http": Benchmark(baselines.raw_http, takes_env=True),
    "commands_per_bill": Benchmark(mutual_aid.commands_per_bill),
    "bill_intake": Benchmark(mutual_aid.bill_intake, needs=("raw_store",)),
    "bill_to_notice": Benchmark(mutual_aid.bill_to_notice, needs=("raw_store",)),
    "memory": Benchmark(mutual_aid.memory, needs=("bill_to_notice",)),
    # After memory: it restarts mutual_aid, whose peak memory figure would start again.
    "bill_intake_down": Benchmark(mutual_aid.bill_intake_down, needs=("raw_store",)),
    "payout_batch": Benchmark(mutual_aid.payout_batch, needs=("raw_store",)),
    "dossier_batches": Benchmark(dossiers.dossier_batches, needs=("raw_store",)),
    "student_aid_ranking": Benchmark(student_aid.student_aid_ranking, needs=("raw_store",)),
    "console_pages": Benchmark(console.console_pages),
    "notify_fanout": Benchmark(notifications.notify_fanout, needs=("raw_store",)),
    # On a platform of its own (the year's figures must count only the year).
    "year_replay": Benchmark(replay.year_replay, needs=("raw_store",)),
    # Last: it leaves 120,000 records in the jobs index, which the memory figure must not see.
    "matching": Benchmark(jobs.matching),
}


def plan(names: list[str]) -> list[str]:
    """The requested benchmarks and what they need, in BENCHMARKS order."""
    wanted: set[str] = set()

    def add(name: str) -> None:
        if name not in wanted:
            wanted.add(name)
            for needed in BENCHMARKS[name].needs:
                add(needed)

    for name in names or list(BENCHMARKS):
        add(name)
    return [name for name in BENCHMARKS if name in wanted]


def main(argv: list[str]) -> int:
    unknown = [name for name in argv if name not in BENCHMARKS]
    if unknown or any(arg in ("-h", "--help") for arg in argv):
        print(
            f"usage: python -m bench [NAME...]  (make bench BENCH='NAME...')\n"
            f"benchmarks: {', '.join(BENCHMARKS)}"
            + (f"\nunknown: {', '.join(unknown)}" if unknown else ""),
            file=sys.stderr,
        )
        return 0 if not unknown else 2
    order = plan(argv)
    progress("running " + ", ".join(order))

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    env = Environment()
    ctx = Context(env)
    failed = False
    try:
        env.start()
        for name in order:
            benchmark = BENCHMARKS[name]
            progress(f"== {name}")
            result = benchmark.run(env if benchmark.takes_env else ctx)
            ctx.results[name] = result
            progress(f"{name}: wrote {result.write()}")
    except KeyboardInterrupt:
        progress("interrupted")
        failed = True
    except HarnessError as exc:
        progress(f"harness failed: {exc}")
        failed = True
    except Exception:  # noqa: BLE001 - report the harness failure, still clean up and print
        progress("harness failed:\n" + traceback.format_exc())
        failed = True
    finally:
        env.stop(keep_logs=failed)
    if ctx.results:
        print(render_table(list(ctx.results.values())), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
