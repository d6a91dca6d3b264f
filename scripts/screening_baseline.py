#!/usr/bin/env python3
"""RapidFuzz brute-force baseline for lessee-screening's evaluation set (issue 6, R3).

The set comes from `cargo run --release -p lessee-screening --example eval -- --export FILE`
(or `--baseline`, which exports to a temporary file and runs this script in the same run):
a JSON object with `queries` (`id`, `name`, `expected`: {`list`, `entity_id`} or null) and
`names` (`list`, `entity_id`, `name`: every name the engine indexes, primary and aliases, from
OFAC, UN, BIS DPL and CSL).

The baseline is the one the issue names: every query against every name with `fuzz.WRatio`,
cutoff 90. Queries and names are prepared once, ahead of timing, with `utils.default_process`
after stripping diacritics (NFKD; RapidFuzz alone would miss every accented query, which would
make the baseline a straw man; it has no transliteration, so Cyrillic queries stay as they are).
`--names all` (default) compares with every name the engine indexes (the same names, the same
run); `--names ofac` with OFAC SDN primary names and ALT-file aliases only, the setting of the
figures quoted in the issue (3,000 queries against OFAC SDN primary and alias names). Matches
are reduced to entries (best name per list + entity id), best first; recall@1/@5 count the
expected entry first / among the first five, the false-positive rate is the share of negatives
with any match. Prints one JSON line.

Setup (once; .venv is gitignored):

    python3 -m venv .venv && .venv/bin/pip install rapidfuzz
    .venv/bin/python scripts/screening_baseline.py FILE [--cutoff 90] [--limit N] [--names all|ofac]
"""

import argparse
import json
import sys
import time
import unicodedata

from rapidfuzz import fuzz, process, utils


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", help="JSON written by the eval example with --export")
    parser.add_argument("--cutoff", type=float, default=90.0)
    parser.add_argument("--limit", type=int, default=0, help="only the first N queries (0: all)")
    parser.add_argument("--names", choices=["all", "ofac"], default="all")
    args = parser.parse_args()

    with open(args.export, encoding="utf-8") as f:
        data = json.load(f)
    names = data["names"]
    if args.names == "ofac":
        names = [
            n for n in names
            if n["list"] == "ofac_sdn" and n["kind"].get("kind") == "primary"
            or n["list"] == "ofac_sdn" and n["kind"].get("quality") == "strong"
        ]
    queries = data["queries"]
    if args.limit:
        queries = queries[: args.limit]

    def prepare(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text)
        stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
        return utils.default_process(stripped)

    choices = [prepare(n["name"]) for n in names]
    keys = [(n["list"], n["entity_id"]) for n in names]
    prepared = [prepare(q["name"]) for q in queries]

    results = []
    started = time.perf_counter()
    for text in prepared:
        found = process.extract(
            text, choices, scorer=fuzz.WRatio, processor=None,
            score_cutoff=args.cutoff, limit=None,
        )
        entries = []
        seen = set()
        for _choice, score, index in sorted(found, key=lambda m: (-m[1], m[2])):
            key = keys[index]
            if key not in seen:
                seen.add(key)
                entries.append((key, score))
            if len(entries) == 5:
                break
        results.append(entries)
    seconds = time.perf_counter() - started

    positives = negatives = hit1 = hit5 = fps = 0
    for query, entries in zip(queries, results):
        expected = query.get("expected")
        if expected:
            positives += 1
            want = (expected["list"], expected["entity_id"])
            ids = [key for key, _ in entries]
            hit1 += bool(ids) and ids[0] == want
            hit5 += want in ids[:5]
        else:
            negatives += 1
            fps += bool(entries)
    ratio = lambda a, b: a / b if b else 0.0
    print(json.dumps({
        "scorer": "rapidfuzz.fuzz.WRatio",
        "cutoff": args.cutoff,
        "name_set": args.names,
        "names": len(names),
        "positives": positives,
        "negatives": negatives,
        "recall_at_1": ratio(hit1, positives),
        "recall_at_5": ratio(hit5, positives),
        "false_positive_rate": ratio(fps, negatives),
        "false_positives": fps,
        "queries_per_second": ratio(len(queries), seconds),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
