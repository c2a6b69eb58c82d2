"""The result as Markdown tables: round trips, then p50/p99 as ratios to the floor."""

from __future__ import annotations

from .variants import VARIANTS


def table(result: dict) -> str:
    floor = next(v.name for v in VARIANTS if v.floor)
    lines = [
        "round trips per warm request (counted at the wire)",
        "| variant | GET by id | list of 20 | POST |",
        "| --- | --- | --- | --- |",
    ]
    for name, counts in result["round_trips"].items():
        lines.append(f"| {name} | {counts['get']} | {counts['list']} | {counts['post']} |")
    lines += [
        "",
        f"check_database() on a fresh engine: {result['startup_round_trips']} round trips",
    ]
    for label, by_variant in result["latency_ms"].items():
        base = by_variant[floor]
        injected = result.get("injected_round_trip_ms", 0)
        where = f"an injected 1 ms round trip (measured: +{injected:.2f} ms)"
        lines += [
            "",
            f"latency at {where if label == '1ms' else 'loopback'}, ms (ratio of p50 to the floor)",
            "| variant | GET p50 | GET p99 | list p50 | list p99 |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, t in by_variant.items():
            ratio_get = t["get"]["p50"] / base["get"]["p50"]
            ratio_list = t["list"]["p50"] / base["list"]["p50"]
            lines.append(
                f"| {name} | {t['get']['p50']:.2f} ({ratio_get:.2f}x) | {t['get']['p99']:.2f} "
                f"| {t['list']['p50']:.2f} ({ratio_list:.2f}x) | {t['list']['p99']:.2f} |"
            )
    return "\n".join(lines)
