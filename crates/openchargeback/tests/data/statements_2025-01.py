#!/usr/bin/env python3
"""Independent computation of the 2025-01 statements from the sample CSVs (SPEC 8.2).

Run: python3 crates/openchargeback/tests/data/statements_2025-01.py
Prints one line per (PI, project): list, discount, amount due. The expected values hard-coded in
tests/statements.rs were produced by this script; it shares no code with the Rust implementation:
group billable charges into billing lines (PI, project, fund/org, source, service), round each
line half-even to cents (list = ListCost, or BilledCost when ListCost is empty), sum the lines.
"""
import csv
import glob
import json
import os
from collections import defaultdict
from decimal import Decimal, ROUND_HALF_EVEN

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "../../../../../shared/fixtures/sample")

lines = defaultdict(lambda: defaultdict(lambda: [Decimal(0), Decimal(0)]))
for path in sorted(glob.glob(os.path.join(SAMPLES, "*_2025-01.csv"))):
    source = os.path.basename(path).rsplit("_", 1)[0]
    for row in csv.DictReader(open(path, newline="")):
        tags = json.loads(row["Tags"]) if row["Tags"] else {}
        pi = tags["pi_email"].lower()
        project = tags.get("project_id") or tags.get("project") or "(no project)"
        billed = Decimal(row["BilledCost"])
        listed = Decimal(row["ListCost"]) if row["ListCost"] not in ("", "NULL") else billed
        key = (tags.get("fund_org"), source, row["ServiceName"] or "Other")
        lines[(pi, project)][key][0] += billed
        lines[(pi, project)][key][1] += listed

cents = lambda d: d.quantize(Decimal("0.01"), ROUND_HALF_EVEN)
for (pi, project), groups in sorted(lines.items()):
    due = sum(cents(v[0]) for v in groups.values())
    listed = sum(cents(v[1]) for v in groups.values())
    print(f"{pi} {project} list={listed} discount={listed - due} due={due}")
