"""The printed results: Markdown tables of the loads and of the live latencies."""

from __future__ import annotations

import statistics
from collections import Counter

from bench.dashboard.live import Trace
from bench.dashboard.page_load import BASELINE_PAGE, MAIN_PAGE, Load
from bench.dashboard.report import (
    KB,
    biggest,
    first_call,
    is_static,
    latencies_ms,
    latency_row,
    nearest_rank,
    ratio,
    scripts_done,
    spread,
    total_bytes,
    verdict,
)
from bench.health.common import table_row

RENDER_TARGET_MS = 1000.0
BYTES_TARGET = 300 * KB
LIVE_TARGET_MS = 200.0


def print_loads(main: list[Load], baseline: list[Load]) -> None:
    """The first-render and bytes tables, with the targets' verdicts."""
    rendered = [load.rendered for load in main if load.rendered is not None]
    headings = Counter(f"{load.path} '{load.heading}'" for load in main)
    print(f"First render, ms from navigation start, median (min-max); shown: {dict(headings)}")
    columns = ("page", "HTML+JS+CSS in", "first API call", "DOMContentLoaded", "load")
    print(table_row(*columns, "page-rendered", "renderer busy"))
    print(table_row(*["---"] * (len(columns) + 2)))
    print(table_row(MAIN_PAGE, *phases(main), *timings(main), spread(rendered), busy(main)))
    row = (f"{BASELINE_PAGE} (baseline)", "-", "-", *timings(baseline), "-", busy(baseline))
    print(table_row(*row))
    floor = statistics.median(load.load for load in baseline) if baseline else 0.0
    middle = statistics.median(rendered) if rendered else float("inf")
    print(
        f"\nrendered / baseline load: {ratio(middle, floor)}; "
        f"target ≤ {RENDER_TARGET_MS:.0f} ms: {verdict(middle, RENDER_TARGET_MS)}\n"
    )
    print_bytes(main)


def phases(loads: list[Load]) -> tuple[str, str]:
    """When the page's own files were all in, and when its first API call left."""
    calls = [at for at in (first_call(load.files) for load in loads) if at is not None]
    return spread([scripts_done(load.files) for load in loads]), spread(calls)


def busy(loads: list[Load]) -> str:
    """The renderer's main-thread time of ``loads`` (CPU it needed, whatever the wait)."""
    return spread([load.busy_ms for load in loads])


def timings(loads: list[Load]) -> tuple[str, str]:
    """DOMContentLoaded and load of ``loads`` as median (min-max)."""
    return spread([x.dom_content_loaded for x in loads]), spread([x.load for x in loads])


def print_bytes(main: list[Load]) -> None:
    """Bytes of the first load (PerformanceResourceTiming.transferSize) and its biggest files."""
    totals = [total_bytes(load.files) for load in main]
    static = [total_bytes(f for f in load.files if is_static(f)) for load in main]
    counts = [len(load.files) for load in main]
    print("Transferred by the first load (transferSize: compressed bodies + headers), kB")
    print(table_row("what", "median", "min-max", "requests"))
    print(table_row("---", "---", "---", "---"))
    print(table_row("everything", kb(statistics.median(totals)), span(totals), spread(counts)))
    print(table_row("HTML, scripts, styles", kb(statistics.median(static)), span(static), ""))
    print(
        f"\ntarget ≤ {BYTES_TARGET / KB:.0f} kB: "
        f"{verdict(statistics.median(totals), BYTES_TARGET)}\n"
    )
    print(
        table_row("biggest files (last round)", "kind", "transferred kB", "body kB", "unpacked kB")
    )
    print(table_row("---", "---", "---", "---", "---"))
    for file in biggest(list(main[-1].files)):
        name = file.name.split("://", 1)[-1].split("/", 1)[-1]
        print(
            table_row(
                "/" + name, file.kind, kb(file.transferred), kb(file.encoded), kb(file.decoded)
            )
        )
    print()


def kb(size: float) -> str:
    """Bytes as kB with one decimal."""
    return f"{size / KB:.1f}"


def span(sizes: list[int]) -> str:
    """The range of byte counts as kB."""
    return f"{kb(min(sizes))}-{kb(max(sizes))}"


def print_live(trace: Trace) -> None:
    """Send to visible, per receiver, with the clock check and the verdict."""
    if not trace.dom:
        print("Live: the session page showed none of the messages: not measured")
        return
    page = latencies_ms(trace.sent, trace.frame)
    python = latencies_ms(trace.sent, trace.python)
    print("Live chat message: time.time() before the send to its arrival, ms")
    print(table_row("receiver", "events", "p50", "p95", "max"))
    print(table_row("---", "---", "---", "---", "---"))
    print(
        latency_row("page: text in the DOM (MutationObserver)", latencies_ms(trace.sent, trace.dom))
    )
    print(latency_row("page: after the next frame", page))
    print(latency_row("Python client (baseline)", python))
    lost = len(trace.sent) - len(trace.dom)
    p50_page, p95_page = nearest_rank(page, 0.5), nearest_rank(page, 0.95)
    print(
        f"\nbrowser/Python p50: {ratio(p50_page, nearest_rank(python, 0.5))}; not seen: {lost}; "
        f"clock offset browser-Python {trace.clock_offset * 1000:+.2f} ms "
        f"(±{trace.clock_bracket * 500:.2f}, corrected)"
    )
    print(
        f"target ≤ {LIVE_TARGET_MS:.0f} ms (p95 after the frame): "
        f"{verdict(p95_page, LIVE_TARGET_MS)}"
    )
