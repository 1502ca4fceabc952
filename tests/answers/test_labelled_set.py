"""Precision and recall of the checks on answers labelled by hand with their defects.

`labelled_answers.jsonl` (30 answers) was written before the rules; `heldout_answers.jsonl` (20) after the first
version of the rules and before they were tuned on it (see docs/ANSWERS.md for the numbers at each step). A code
counts as found for an answer when at least one finding has it; precision and recall are over (answer, code) pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otklik.answers.checks import CODES, run_checks

DATA = Path(__file__).resolve().parent / "data"


def evaluate(name: str) -> tuple[float, float, str]:
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    tp = dict.fromkeys(CODES, 0)
    fp = dict.fromkeys(CODES, 0)
    fn = dict.fromkeys(CODES, 0)
    for row in rows:
        found = {f.code for f in run_checks(row["text"], row["complaint"], attachments=row["attachments"])}
        expected = set(row["expected"])
        assert expected <= set(CODES), row
        for code in CODES:
            if code in found and code in expected:
                tp[code] += 1
            elif code in found:
                fp[code] += 1
            elif code in expected:
                fn[code] += 1
    lines = [f"{name}: {len(rows)} answers", f"{'code':30} {'tp':>3} {'fp':>3} {'fn':>3} {'P':>5} {'R':>5}"]
    for code in CODES:
        p = tp[code] / (tp[code] + fp[code]) if tp[code] + fp[code] else 1.0
        r = tp[code] / (tp[code] + fn[code]) if tp[code] + fn[code] else 1.0
        lines.append(f"{code:30} {tp[code]:3} {fp[code]:3} {fn[code]:3} {p:5.2f} {r:5.2f}")
    total_tp, total_fp, total_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    precision = total_tp / (total_tp + total_fp)
    recall = total_tp / (total_tp + total_fn)
    lines.append(f"{'overall':30} {total_tp:3} {total_fp:3} {total_fn:3} {precision:5.2f} {recall:5.2f}")
    return precision, recall, "\n".join(lines)


@pytest.mark.parametrize("name", ["labelled_answers.jsonl", "heldout_answers.jsonl"])
def test_the_checks_find_the_labelled_defects_without_false_alarms(name, capsys):
    precision, recall, report = evaluate(name)
    with capsys.disabled():
        print("\n" + report)

    assert precision >= 0.8, report
    assert recall >= 0.8, report
