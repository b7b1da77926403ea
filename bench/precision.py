"""Precision and recall of lint-eps on the noise corpora (corpus2, issue 11; corpus3), from the hand labels.

    .venv/bin/python bench/corpus2.py --lint           # fresh findings -> bench/corpus2/findings.json
    .venv/bin/python bench/precision.py                # the tables, from that file and bench/labels/
    .venv/bin/python bench/precision.py --run          # lint first (default rules), then the tables
    .venv/bin/python bench/precision.py --corpus 3     # the same for bench/corpus3 (bench/corpus3.py --lint)

Two hand-made files in bench/labels/ hold the judgement, so that the numbers follow the rules as they change:

- corpusN-findings.tsv: every default finding of a past run, with its verdict (TP/FP), the cause of each false
  alarm (issue 11's list: hyperparameter, implied-guard, repaired-nan, caller-guard, count-by-construction,
  test-code, other) and a one-line reason;
- corpusN-misses.tsv: the hazards a reviewer found that lint-eps did not report, with the code it should be and
  the cause of the miss (role, false-guard, implicit-mean, eps-placement, state-probability, other:<what>).

A finding of the fresh run is matched to a labelled finding by library, file, line, code (and its column span
when two labels share a line); failing that, to a labelled miss of the same library, file, line and code, which then
counts as a true positive found. Findings matched by neither are "unlabelled": label them before trusting the
precision. A labelled true positive that the fresh run no longer reports counts as a miss, and so does every
labelled miss that is still not reported. precision = TP / (TP + FP); recall = TP / (TP + misses).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
LABELS = BENCH / "labels"
CORPORA = ("2", "3")


@dataclass(frozen=True)
class Paths:
    """Where corpus `number`'s sources, fresh findings and hand labels live."""

    number: str

    @property
    def name(self) -> str:
        return f"corpus{self.number}"

    @property
    def corpus(self) -> Path:
        return BENCH / self.name

    @property
    def findings_tsv(self) -> Path:
        return LABELS / f"{self.name}-findings.tsv"

    @property
    def misses_tsv(self) -> Path:
        return LABELS / f"{self.name}-misses.tsv"

    @property
    def findings_json(self) -> Path:
        return self.corpus / "findings.json"


@dataclass(frozen=True)
class Finding:
    library: str
    file: str
    line: int
    column: int
    end_column: int
    code: str


@dataclass
class Tally:
    findings: int = 0
    true: int = 0
    false: int = 0
    unlabelled: int = 0
    misses: int = 0
    fp_causes: Counter = field(default_factory=Counter)
    miss_causes: Counter = field(default_factory=Counter)

    def row(self, name: str) -> str:
        judged = self.true + self.false
        precision = f"{100 * self.true / judged:.0f} %" if judged else "–"
        recall = f"{100 * self.true / (self.true + self.misses):.0f} %" if self.true + self.misses else "–"
        return f"| {name} | {self.findings} | {self.true} | {self.false} | {self.unlabelled} | {self.misses} | {precision} | {recall} |"


def library_and_file(filename: str, corpus: str = "corpus2") -> tuple[str, str]:
    """`.../corpus2/src/<wheel name>-<version>/<path>` -> (library, path). The run may be made from bench/corpus2/
    (`src/...`), from the repository root (`bench/corpus2/src/...`) or with absolute paths."""
    text = Path(filename).as_posix()
    marker = f"{corpus}/src/"
    rest = text.split(marker, 1)[1] if marker in text else text.removeprefix("src/")
    parts = rest.split("/")
    return parts[0].rsplit("-", 1)[0], "/".join(parts[1:])


def read_findings(path: Path, corpus: str = "corpus2") -> list[Finding]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{path}: cannot read lint-eps JSON output ({exc}); run `bench/{corpus}.py --lint` first")
    out = []
    for item in data:
        library, file = library_and_file(item["filename"], corpus)
        location, end = item["location"], item.get("end_location") or item["location"]
        out.append(Finding(library, file, location["row"], location["column"], end["column"], item["code"]))
    return out


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def lines_of(text: str) -> range:
    """A miss names one line or a range `first-last` (a multi-line expression)."""
    first, _, last = text.partition("-")
    return range(int(first), int(last or first) + 1)


def match_label(finding: Finding, candidates: list[dict[str, str]]) -> dict[str, str] | None:
    """The label of `finding` among the unused labels of its line and code: same span, else same start column,
    else the only one (a rule that now reports the same expression from another column)."""
    for same in (
        lambda c: (int(c["column"]), int(c["end_column"])) == (finding.column, finding.end_column),
        lambda c: int(c["column"]) == finding.column,
    ):
        hits = [c for c in candidates if same(c)]
        if hits:
            return hits[0]
    return candidates[0] if len(candidates) == 1 else None


def default_codes() -> frozenset[str]:
    """The codes of the rules on by default: precision and recall are about what a default run reports."""
    from lint_eps.registry import all_rules

    return frozenset(code for code, rule in all_rules().items() if rule.default_enabled)


def tally(findings: list[Finding], labels: list[dict[str, str]], misses: list[dict[str, str]]) -> tuple[dict[str, Tally], dict[str, Tally], list[Finding]]:
    by_rule: dict[str, Tally] = defaultdict(Tally)
    by_library: dict[str, Tally] = defaultdict(Tally)
    by_line: dict[tuple, list[dict[str, str]]] = defaultdict(list)
    for label in labels:
        by_line[(label["library"], label["file"], int(label["line"]), label["code"])].append(label)
    used_labels: set[int] = set()
    found_misses: set[int] = set()
    unlabelled: list[Finding] = []

    for finding in findings:
        tallies = (by_rule[finding.code], by_library[finding.library])
        for t in tallies:
            t.findings += 1
        label = match_label(finding, [c for c in by_line.get((finding.library, finding.file, finding.line, finding.code), []) if id(c) not in used_labels])
        if label is not None:
            used_labels.add(id(label))
            for t in tallies:
                if label["verdict"] == "TP":
                    t.true += 1
                else:
                    t.false += 1
                    t.fp_causes[label["cause"]] += 1
            continue
        miss = next(
            (i for i, m in enumerate(misses) if (m["library"], m["file"], m["code"]) == (finding.library, finding.file, finding.code) and finding.line in lines_of(m["line"])),
            None,
        )
        if miss is not None:
            found_misses.add(miss)
            for t in tallies:
                t.true += 1
            continue
        unlabelled.append(finding)
        for t in tallies:
            t.unlabelled += 1

    for label in labels:
        if label["code"] not in default_codes():
            continue  # an opt-in rule's labels (found when it was on): not a miss of the default rules
        if label["verdict"] == "TP" and id(label) not in used_labels:
            for t in (by_rule[label["code"]], by_library[label["library"]]):
                t.misses += 1
                t.miss_causes["lost true positive"] += 1
    for index, miss in enumerate(misses):
        if index not in found_misses:
            for t in (by_rule[miss["code"]], by_library[miss["library"]]):
                t.misses += 1
                t.miss_causes[miss["cause"]] += 1
    return by_rule, by_library, unlabelled


def table(title: str, tallies: dict[str, Tally]) -> list[str]:
    total = Tally()
    for t in tallies.values():
        total.findings += t.findings
        total.true += t.true
        total.false += t.false
        total.unlabelled += t.unlabelled
        total.misses += t.misses
    out = [f"| {title} | findings | true | false | unlabelled | misses | precision | recall |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    out += [tallies[name].row(name) for name in sorted(tallies)]
    out.append(total.row("**all**"))
    return out


def causes(title: str, counter: Counter) -> list[str]:
    out = [f"| {title} | count |", "|---|---:|"]
    out += [f"| {cause} | {count} |" for cause, count in counter.most_common()]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=CORPORA, default="2", help="which noise corpus: bench/corpus2 (default) or bench/corpus3")
    parser.add_argument("--findings", type=Path, help="lint-eps --output-format json output on the corpus (run from bench/corpusN/); default bench/corpusN/findings.json")
    parser.add_argument("--run", action="store_true", help="lint the corpus first (bench/corpusN.py --lint), writing --findings")
    options = parser.parse_args()
    paths = Paths(options.corpus)
    findings_json = options.findings or paths.findings_json
    if options.run:
        sys.path.insert(0, str(BENCH))
        import corpus2
        import corpus3

        corpus2.lint(findings_json, {"2": corpus2.CORPUS2, "3": corpus3.CORPUS3}[options.corpus])
    findings = read_findings(findings_json, paths.name)
    labels = read_tsv(paths.findings_tsv)
    by_rule, by_library, unlabelled = tally(findings, labels, read_tsv(paths.misses_tsv))
    if paths.corpus.joinpath("src").is_dir():  # libraries with nothing found and nothing missed get a row too
        for folder in os.listdir(paths.corpus / "src"):
            by_library[folder.rsplit("-", 1)[0]]
    fp_causes: Counter = Counter()
    miss_causes: Counter = Counter()
    for t in by_rule.values():
        fp_causes.update(t.fp_causes)
        miss_causes.update(t.miss_causes)
    print("\n".join(table("rule", by_rule)))
    print()
    print("\n".join(table("library", by_library)))
    print()
    print("\n".join(causes("cause of the false alarms", fp_causes)))
    print()
    print("\n".join(causes("cause of the misses", miss_causes)))
    opt_in = Counter(label["code"] for label in labels if label["code"] not in default_codes() and label["verdict"] == "TP")
    if opt_in:
        listed = ", ".join(f"{code} ({count} true)" for code, count in sorted(opt_in.items()))
        print(f"\nNot counted (opt-in rules, labelled while they were on by default): {listed}")
    if unlabelled:
        print(f"\n{len(unlabelled)} unlabelled findings (add them to {paths.findings_tsv.relative_to(BENCH.parent)}):")
        for f in unlabelled:
            print(f"  {f.library}\t{f.file}\t{f.line}\t{f.column}\t{f.code}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
