#!/usr/bin/env python3
"""Renders compat_journal.csv with Python Jinja2 the way the Python OpenChargeback did.

Produces the golden file compat_journal.expected.csv that the Rust test compares against.
Input: compat_context.json, written by `UPDATE_GOLDEN=1 cargo test -p ocb-journal --test golden`.
Environment as upstream's journal_template.py: trim_blocks, lstrip_blocks,
select_autoescape(["html", "xml"]) and the filter truncate_desc. Run with Python 3.11, jinja2 3.1.6.
"""
import json
from pathlib import Path

import jinja2

HERE = Path(__file__).resolve().parent

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE),
    autoescape=jinja2.select_autoescape(["html", "xml"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["truncate_desc"] = lambda s, max_len=35: s[:max_len] if s else ""

context = json.loads((HERE / "compat_context.json").read_text(encoding="utf-8"))
out = env.get_template("compat_journal.csv").render(**context)
(HERE / "compat_journal.expected.csv").write_text(out, encoding="utf-8", newline="")
print(f"jinja2 {jinja2.__version__}: wrote {len(out)} characters")
