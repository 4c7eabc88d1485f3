"""Draws the scaling picture from the data compare.sh writes (Benchmarks/scaling.csv): the median cost
of a new lock order, and the memory of the graph, against the number of lock classes, for the validator
and for ThreadSanitizer's deadlock detector on the same orders. Rows of the tool "LockValidator (before)",
if any, are drawn faintly in the memory panel (an earlier layout, for a before-and-after picture), with
half of TSan's memory, the target, as a dotted line.

    python3 Benchmarks/plot_scaling.py Benchmarks/scaling.csv Benchmarks/scaling.svg
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

source, target = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(source)))
figure, (cost, memory) = plt.subplots(1, 2, figsize=(11, 4.2))
styles = {"LockValidator": ("tab:blue", "o"), "TSan": ("tab:red", "s"), "LockValidator (before)": ("tab:blue", ".")}
for tool in ["LockValidator", "TSan", "LockValidator (before)"]:
    for edges, dash in [("2", "-"), ("20", "--")]:
        points = sorted(
            (int(row["classes"]), float(row["ns"]), float(row["resident_mb"]))
            for row in rows
            if row["tool"] == tool and row["edges_per_class"] == edges
        )
        if not points:
            continue
        color, marker = styles[tool]
        label = f"{tool}, {edges} orders per class"
        classes = [p[0] for p in points]
        megabytes = [max(p[2], 0.1) for p in points]
        if tool == "LockValidator (before)":
            memory.plot(classes, megabytes, dash, color=color, marker=marker, alpha=0.35, label=label)
            continue
        cost.plot(classes, [p[1] for p in points], dash, color=color, marker=marker, label=label)
        memory.plot(classes, megabytes, dash, color=color, marker=marker, label=label)
        if tool == "TSan":
            memory.plot(
                classes, [m / 2 for m in megabytes], dash, color="gray", linewidth=0.8, alpha=0.7,
                label=f"half of TSan, {edges} orders per class",
            )
for axes, title, unit in [
    (cost, "A new lock order (median of 1,000)", "nanoseconds"),
    (memory, "Memory of the graph (resident set growth)", "MB"),
]:
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("lock classes")
    axes.set_ylabel(unit)
    axes.set_title(title, fontsize=11)
    axes.grid(True, which="both", alpha=0.3)
cost.axhline(1000, color="gray", linewidth=0.8, linestyle=":")
cost.annotate("budget: 1 µs at 10,000 classes", (120, 1050), color="gray", fontsize=8)
memory.legend(fontsize=7, loc="upper left")
figure.tight_layout()
figure.savefig(target)
