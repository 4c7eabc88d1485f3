#!/usr/bin/env python3
"""Scores the runs of scripts/verdict-corpus.sh against Tests/VerdictCorpus/ground-truth.tsv.

For each program and tool it reads what the run left in RUNS/TOOL/ID.* (exit status, output, time; the
LockValidator JSON report; the Helgrind log), decides the outcome, and prints one Markdown table, then
precision and recall per tool. A positive is a program the tool says can deadlock:

- a cycle report: LockValidator's `lock-order-inversion`, TSan's "lock-order-inversion (potential
  deadlock)", Helgrind's 'lock order "0x... before 0x..." violated';
- LockValidator's verdict: a `lock-order-inversion` whose `verdict` is can-deadlock, predicted or confirmed
  (a missing verdict is can-deadlock, what the engine says today), and its confirmation: `confirmed`.
"""
import argparse
import json
import re
import sys
from pathlib import Path

# The verdict classes of the issue. A cannot-deadlock verdict names its reason.
CANNOT = ["one-thread", "gate-lock", "ordered-by-join", "ordered-by-create", "no-cycle"]
CAN = ["confirmed", "predicted", "can-deadlock"]
IN_MODEL = set(CANNOT) | {"can-deadlock"}   # ground-truth verdicts the engine's model can give
ALIASES = {
    "gate": "gate-lock", "gated": "gate-lock", "one-thread-only": "one-thread", "single-thread": "one-thread",
    "same-thread": "one-thread", "ordered-by-start": "ordered-by-create", "ordered-by-thread-start": "ordered-by-create",
    "thread-start": "ordered-by-create", "create": "ordered-by-create", "join": "ordered-by-join",
    "thread-join": "ordered-by-join", "can-deadlock-predicted": "predicted", "potential": "can-deadlock",
}
TOOL_NAMES = {"lv": "LockValidator", "confirm": "LockValidator confirmation", "tsan": "TSan", "helgrind": "Helgrind"}
HUNG = {124, 137}   # timeout(1): the limit was reached (SIGTERM), or it had to kill


def kebab(text):
    """`gateLock`, `gate_lock`, `Gate lock` -> `gate-lock`."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", str(text).strip())
    return re.sub(r"[\s_]+", "-", text).lower()


def raw_strings(value):
    """The strings in a verdict field; a boolean member counts as its key, or "not-" and its key."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, bool):
                yield key if item else "not-" + kebab(key)
            else:
                yield from raw_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from raw_strings(item)
    elif value is not None:
        yield str(value)


def verdict_of(violation):
    """The verdict of one lock-order-inversion: (class, given). Accepts a string ("gate-lock",
    "cannot-deadlock: one-thread") or an object ({"verdict": "cannot-deadlock", "reason": "gateLock"},
    {"confirmation": "confirmed"}, {"canDeadlock": false, ...}); a missing field is today's behaviour,
    can-deadlock."""
    if violation.get("verdict") is None:
        return "can-deadlock", False
    words = []
    for raw in raw_strings(violation["verdict"]):
        for part in [raw] + re.split(r"[:;,()/|]+", raw):
            word = kebab(part)
            if word:
                words.append(ALIASES.get(word, word))
    for name in CAN[:2] + CANNOT + CAN[2:]:
        if name in words:
            return name, True
    if any(word.startswith("cannot") or word.startswith("not-can") for word in words):
        return "cannot-deadlock", True
    return "unknown: " + json.dumps(violation["verdict"]), True


class Outcome:
    """What one tool did on one program."""

    def __init__(self, status, cycles=0, notes=(), verdicts=(), deadlock=False, seconds=None, confirmation=None):
        self.status = status          # ran, hung, failed, skipped: why, missing
        self.cycles = cycles          # cycle reports
        self.notes = list(notes)      # other reports, briefly
        self.verdicts = list(verdicts)  # LockValidator: (class, given) per cycle report
        self.deadlock = deadlock      # LockValidator: a `deadlock` report (the watchdog saw it form)
        self.seconds = seconds
        self.confirmation = confirmation  # confirm: "confirmed", "predicted" (steered for, not formed), None

    @property
    def ran(self):
        return self.status in ("ran", "hung")

    @property
    def cycle(self):
        return self.cycles > 0

    @property
    def can_deadlock(self):
        return any(name in CAN for name, _ in self.verdicts)

    @property
    def confirmed(self):
        return any(name == "confirmed" for name, _ in self.verdicts) or self.confirmation == "confirmed"


def read_outcome(runs, tool, id):
    base = runs / tool / id
    if (base.parent / (id + ".skipped")).exists():
        return Outcome("skipped: " + (base.parent / (id + ".skipped")).read_text().strip())
    if not (base.parent / (id + ".rc")).exists():
        return Outcome("missing")
    status = int((base.parent / (id + ".rc")).read_text())
    seconds = float((base.parent / (id + ".secs")).read_text())
    state = "hung" if status in HUNG else "ran"
    err = (base.parent / (id + ".err")).read_text(errors="replace")
    if tool == "plain":
        return Outcome(state, notes=[] if state == "hung" or status == 0 else [f"exit {status}"], seconds=seconds)
    if tool == "lv":
        report = base.parent / (id + ".json")
        if not report.exists():
            return Outcome("hung" if state == "hung" else f"failed (exit {status}, no report)", seconds=seconds)
        violations = json.loads(report.read_text())["violations"]
        cycles = [v for v in violations if v["rule"] == "lock-order-inversion"]
        others = sorted({v["rule"] for v in violations} - {"lock-order-inversion"})
        if state == "ran" and status not in (0, 66):
            others.append(f"exit {status}")
        return Outcome(state, len(cycles), others, [verdict_of(v) for v in cycles],
                       any(v["rule"] == "deadlock" for v in violations), seconds)
    if tool == "confirm":
        # The second run of two: a `deadlock` or cycle report marked confirmed, or cycles still predicted.
        report = base.parent / (id + ".json")
        if not report.exists():
            return Outcome("hung" if state == "hung" else f"failed (exit {status}, no report)", seconds=seconds)
        violations = json.loads(report.read_text())["violations"]
        marks = [(v.get("confirmation") or {}).get("status") for v in violations
                 if v["rule"] in ("deadlock", "lock-order-inversion")]
        steered = re.search(r"LOCKVALIDATOR_CONFIRM: (\d+) lock order", err)
        confirmation = "confirmed" if "confirmed" in marks else "predicted" if "predicted" in marks or \
            (steered and int(steered.group(1)) > 0) else None
        others = sorted({v["rule"] for v in violations} - {"lock-order-inversion", "deadlock"})
        if state == "ran" and status not in (0, 66):
            others.append(f"exit {status}")
        return Outcome(state, sum(v["rule"] == "lock-order-inversion" for v in violations), others,
                       deadlock=any(v["rule"] == "deadlock" for v in violations), seconds=seconds,
                       confirmation=confirmation)
    if tool == "tsan":
        kinds = re.findall(r"WARNING: ThreadSanitizer: ([^(\n]+?)\s*(?:\(|\n)", err)
        cycles = sum(kind == "lock-order-inversion" for kind in kinds)
        others = sorted({kind for kind in kinds if kind != "lock-order-inversion"})
        if state == "ran" and status not in (0, 66):
            others.append(f"exit {status}")
        return Outcome(state, cycles, others, seconds=seconds)
    log = base.parent / (id + ".log")
    text = log.read_text(errors="replace") if log.exists() else ""
    cycles = len(re.findall(r'lock order "0x[0-9A-Fa-f]+ before 0x[0-9A-Fa-f]+" violated', text))
    others = set()
    for line in re.findall(r"^==\d+== (Thread #\d+: .*|Possible data race.*)$", text, re.M):
        if "lock order" in line or "was created" in line or "is the program's first thread" in line:
            continue
        if state == "hung" and "Exiting thread still holds" in line:
            continue   # killed at the timeout with its locks held
        if line.startswith("Possible data race"):
            others.add("data race")
        else:
            others.add(re.sub(r"Thread #\d+: |0x[0-9A-Fa-f]+", "", line).strip().rstrip(".")[:50])
    if state == "ran" and status != 0:
        others.add(f"exit {status}")
    return Outcome(state, cycles, sorted(others), seconds=seconds)


def read_truth(path):
    rows = []
    for line in Path(path).read_text().splitlines():
        if not line or line.startswith("#") or line.startswith("program\t"):
            continue
        program, prone, verdict, meets, reason = line.split("\t")
        assert prone in ("yes", "no") and meets in ("yes", "no"), line
        rows.append(dict(program=program, prone=prone == "yes", verdict=verdict, meets=meets == "yes", reason=reason))
    return rows


def mark(positive, prone):
    """' ✗' on a wrong answer to "can it deadlock?"."""
    return "" if positive == prone else " ✗"


def cell(outcome, prone):
    if not outcome.ran:
        return outcome.status
    parts = [f"cycle ×{outcome.cycles}" if outcome.cycles > 1 else "cycle" if outcome.cycles else
             "no report" if outcome.status == "hung" else "—"]
    if outcome.deadlock:
        parts.append("deadlock")
    parts += [note for note in outcome.notes if note != "deadlock"]
    if outcome.status == "hung":
        parts.insert(0, "hung")
    return ", ".join(parts) + mark(outcome.cycle, prone)


def confirmation_cell(outcome, row):
    """Confirmed (and how long the confirming run took), or predicted; ✗ when that is wrong: a program that
    cannot deadlock confirmed, or a prone one not confirmed."""
    if not outcome.ran:
        return outcome.status
    text = {"confirmed": "confirmed", "predicted": "predicted"}.get(outcome.confirmation, "—")
    if outcome.seconds is not None:
        text += f" ({outcome.seconds:.1f} s)"
    if outcome.status == "hung":
        text = "hung, " + text
    return text + mark(outcome.confirmation == "confirmed", row["prone"])


def verdict_cell(outcome, row):
    if not outcome.ran:
        return outcome.status
    if not outcome.verdicts:
        return "—" + mark(False, row["prone"])
    names = []
    for name, given in outcome.verdicts:
        text = name if given else name + " (none given)"
        if text not in names:
            names.append(text)
    text = ", ".join(names) + mark(outcome.can_deadlock, row["prone"])
    given = any(given for _, given in outcome.verdicts)
    if given and not outcome.can_deadlock and any(name != row["verdict"] for name, _ in outcome.verdicts):
        text += f" (expected {row['verdict']})"
    return text


def figures(rows, outcomes, positive):
    """(TP, FP, FN, TN, precision, recall) of `positive(outcome)` against prone, over the programs run."""
    tp = fp = fn = tn = 0
    for row in rows:
        outcome = outcomes[row["program"]]
        if not outcome.ran:
            continue
        said = positive(outcome)
        if said and row["prone"]:
            tp += 1
        elif said:
            fp += 1
        elif row["prone"]:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return tp, fp, fn, tn, precision, recall


def number(value):
    return "n/a" if value is None else f"{value:.2f}"


def self_test():
    """The verdict field in the shapes a later engine may give it."""
    cases = [
        ({}, ("can-deadlock", False)),
        ({"verdict": None}, ("can-deadlock", False)),
        ({"verdict": "can-deadlock"}, ("can-deadlock", True)),
        ({"verdict": "confirmed"}, ("confirmed", True)),
        ({"verdict": "predicted"}, ("predicted", True)),
        ({"verdict": "gate-lock"}, ("gate-lock", True)),
        ({"verdict": "cannot-deadlock: one thread"}, ("one-thread", True)),
        ({"verdict": "Ordered by thread start"}, ("ordered-by-create", True)),
        ({"verdict": {"verdict": "cannotDeadlock", "reason": "orderedByJoin"}}, ("ordered-by-join", True)),
        ({"verdict": {"kind": "can-deadlock", "confirmation": "confirmed"}}, ("confirmed", True)),
        ({"verdict": {"kind": "can-deadlock", "reason": "no gate lock held"}}, ("can-deadlock", True)),
        ({"verdict": {"canDeadlock": False}}, ("cannot-deadlock", True)),
        ({"verdict": {"canDeadlock": True, "reasons": []}}, ("can-deadlock", True)),
    ]
    for violation, expected in cases:
        assert verdict_of(violation) == expected, (violation, verdict_of(violation), expected)
    assert verdict_of({"verdict": "weird"})[0].startswith("unknown")
    print(f"verdict-corpus.py: {len(cases) + 1} verdict shapes read as expected")


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truth", required=True)
    parser.add_argument("--runs", required=True)
    parser.add_argument("--tools", default="lv,confirm,tsan,helgrind")
    parser.add_argument("--write")
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--version", action="append", default=[])
    arguments = parser.parse_args()

    runs = Path(arguments.runs)
    tools = [tool for tool in ("lv", "confirm", "tsan", "helgrind") if tool in arguments.tools.split(",")]
    truth = [row for row in read_truth(arguments.truth)
             if any((runs / tool / (row["program"].replace("/", "__") + suffix)).exists()
                    for tool in tools for suffix in (".rc", ".skipped"))]
    plain = {row["program"]: read_outcome(runs, "plain", row["program"].replace("/", "__")) for row in truth} \
        if (runs / "plain").is_dir() else None
    outcomes = {tool: {row["program"]: read_outcome(runs, tool, row["program"].replace("/", "__")) for row in truth}
                for tool in tools}

    lines = ["# Verdict corpus: ground truth and what each tool says", ""]
    if arguments.version:
        lines += ["Run with " + "; ".join(arguments.version) + ".", ""]
    lines += [
        "*prone*: some schedule of the program deadlocks. *expected verdict*: what its cycle deserves. *plain run*:",
        "the program alone, which must finish (the *-realdeadlock programs must deadlock: \"deadlocked\" is a run",
        "stopped at its 5 s timeout). Each tool's",
        "column: `cycle` = a lock-order cycle reported (×n: n reports), `—` = none; `deadlock` = LockValidator's",
        "watchdog saw a real deadlock (and ended the run); `hung` = still running at the timeout; other reports",
        "follow. ✗ = a wrong answer to \"can this program deadlock?\" (a report on a program that cannot, or none",
        "on one that can). *verdict*: LockValidator's verdict per cycle report; \"(none given)\" = the report",
        "carried no verdict, counted as can-deadlock. *LockValidator confirmation*: the second of two runs (the",
        "first learns a store, the second runs with LOCKVALIDATOR_CONFIRM=on against it): `confirmed` = the",
        "predicted cycle formed and the watchdog reported it, `predicted` = steered for, did not form, `—` = no",
        "cycle to steer for; the time is the whole second run's.",
        "",
    ]
    header = ["program", "prone", "expected verdict"] + (["plain run"] if plain else [])
    for tool in tools:
        header.append(TOOL_NAMES[tool])
        if tool == "lv":
            header.append("verdict")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for row in truth:
        cells = [row["program"], "yes" if row["prone"] else "no", row["verdict"]]
        if plain:
            run = plain[row["program"]]
            text = "deadlocked" if run.status == "hung" else ", ".join(["finished"] + run.notes) if run.ran else run.status
            cells.append(text + ("" if (run.status == "hung") == row["meets"] and not run.notes else " ✗"))
        for tool in tools:
            outcome = outcomes[tool][row["program"]]
            cells.append(confirmation_cell(outcome, row) if tool == "confirm" else cell(outcome, row["prone"]))
            if tool == "lv":
                cells.append(verdict_cell(outcome, row))
        lines.append("| " + " | ".join(cells) + " |")

    lines += ["", "## Precision and recall of \"this program can deadlock\"", ""]
    lines += ["Positives: programs the tool says can deadlock; truth: *prone*. Over the programs each tool ran",
              "(a hung run counts as what it reported before it was stopped). TP, FP, FN, TN over all of them.", ""]
    sets = [("all", truth), ("C", [r for r in truth if r["program"].startswith("c/")]),
            ("in model", [r for r in truth if r["verdict"] in IN_MODEL]),
            ("no real deadlock", [r for r in truth if not r["meets"]])]
    sets = [(name, rows) for name, rows in sets if rows]
    lines.append("| tool: what counts as a positive | TP | FP | FN | TN | " +
                 " | ".join(f"{name}: precision | recall" for name, _ in sets) + " |")
    lines.append("|---|---|---|---|---|" + "---|---|" * len(sets))
    measures = []
    for tool in tools:
        name = TOOL_NAMES[tool]
        if tool == "confirm":
            measures.append((f"{name}: confirmed (two runs)", tool, lambda o: o.confirmation == "confirmed"))
            continue
        measures.append((f"{name}: cycle report", tool, lambda o: o.cycle))
        if tool == "lv":
            measures.append((f"{name}: can-deadlock verdict", tool, lambda o: o.can_deadlock))
            # No "confirmed" row here: this run is without LOCKVALIDATOR_CONFIRM, so it never confirms (the
            # row read recall 0.00); the confirm tool's row is confirmation's.
            measures.append((f"{name}: a real deadlock reported (`deadlock`)", tool, lambda o: o.deadlock))
    results = {}
    for label, tool, positive in measures:
        row = f"| {label} | "
        for set_name, rows in sets:
            tp, fp, fn, tn, precision, recall = figures(rows, outcomes[tool], positive)
            results[(label, set_name)] = (precision, recall)
            if set_name == "all":
                row += f"{tp} | {fp} | {fn} | {tn} | "
            row += f"{number(precision)} | {number(recall)} | "
        lines.append(row.rstrip())
    lines += ["", "*C*: the C programs only. *in model*: without the programs whose reason lies outside the verdicts'",
              "model (ordered by a condition variable). *no real deadlock*: without the *-realdeadlock programs."]

    if "lv" in tools:
        cycle = results.get(("LockValidator: cycle report", "all"))
        verdict = results.get(("LockValidator: can-deadlock verdict", "all"))
        if cycle and verdict:
            precision_met = verdict[0] is not None and verdict[0] >= 0.95
            recall_met = verdict[1] is not None and cycle[1] is not None and verdict[1] >= cycle[1]
            lines += ["", "Targets (issue 33), on all programs: can-deadlock verdict precision "
                      f"{number(verdict[0])} (≥ 0.95: {'met' if precision_met else 'not met'}), recall "
                      f"{number(verdict[1])} against the cycle report's {number(cycle[1])} "
                      f"({'met' if recall_met else 'not met'})."]
        # How often the verdict names the right reason, on the programs that cannot deadlock but have a cycle report.
        judged = [(row, outcomes["lv"][row["program"]]) for row in truth
                  if not row["prone"] and outcomes["lv"][row["program"]].cycle]
        right = sum(all(name == row["verdict"] for name, _ in o.verdicts) for row, o in judged)
        lines += [f"Verdict reasons: {right} of {len(judged)} cycle reports on programs that cannot deadlock name the "
                  "expected reason."]

    if "confirm" in tools:
        confirm = outcomes["confirm"]
        prone = [row for row in truth if row["prone"] and confirm[row["program"]].ran]
        confirmed = [row for row in prone if confirm[row["program"]].confirmation == "confirmed"]
        wrong = [row["program"] for row in truth if not row["prone"] and confirm[row["program"]].confirmed]
        slowest = max((confirm[row["program"]].seconds or 0 for row in confirmed), default=0)
        lines += ["", f"Confirmation (issue 33: every prone program whose threads can meet confirmed within 10 s): "
                  f"{len(confirmed)} of {len(prone)} prone programs confirmed, the slowest confirming run "
                  f"{slowest:.1f} s ({'met' if len(confirmed) == len(prone) and slowest <= 10 else 'not met'}); "
                  f"programs that cannot deadlock confirmed: {len(wrong)}" + (f" ({', '.join(wrong)})" if wrong else "")
                  + "."]

    timing = []
    for tool in tools:
        seconds = sum(o.seconds or 0 for o in outcomes[tool].values())
        hung = sum(o.status == "hung" for o in outcomes[tool].values())
        skipped = sum(o.status.startswith("skipped") for o in outcomes[tool].values())
        timing.append(f"{TOOL_NAMES[tool]} {seconds:.0f} s of runs ({hung} hung, {skipped} skipped)")
    lines += ["", "Time: " + "; ".join(timing) + (f"; the whole script {arguments.seconds} s (builds included)."
                                                  if arguments.seconds is not None else ".")]

    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if arguments.write:
        Path(arguments.write).write_text(text)
        print(f"written to {arguments.write}", file=sys.stderr)


if __name__ == "__main__":
    main()
