#!/usr/bin/env python3
"""Builds the real-data evaluation set in eval/banks/ from the bank registry that the
schwifty package ships (MIT; registry data from national central banks' public bank-code
files, see eval/banks/LICENSES.md).

    pip download --no-deps -d /tmp/schwifty schwifty==2026.10.1
    python3 scripts/build_eval_banks.py /tmp/schwifty/schwifty-2026.10.1-py3-none-any.whl

Organisations and truth come from the source, not from our normalizer: an institution is a
registered name in a country (company law keeps registered names unique within a country),
whatever bank codes and branch BICs the registry lists for it; the same name in two
countries is two institutions (a national subsidiary or branch, as CRMs keep them). Side A is a
Salesforce-style export with the registered name, side B a HubSpot-style export with the
registry's short name where it has one, so name variants are the registry's own. Traps real
CRM lists have are planted from the data itself, with a fixed seed:
- homonyms: institutions that share a registered name (other bank code or country) are
  split so that one lands only in A and another only in B;
- free-mail and placeholder websites typed into the Website column (real free-mail domains);
- a country missing on one side.
Writes a.csv, b.csv, truth.csv (a_row, b_row, class) and rows.csv (side, row, group, tags).
"""
import collections
import csv
import io
import json
import random
import sys
import zipfile

SEED = 20261201
FREE_MAIL = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "web.de", "gmx.de", "yahoo.co.jp",
             "mail.ru", "orange.fr", "libero.it", "btinternet.com", "t-online.de", "icloud.com", "aol.com"]
PLACEHOLDERS = ["n/a", "none", "www.", "http://", "-", "tbd"]
COUNTRY_NAMES = {"DE": "Germany", "GB": "United Kingdom", "CH": "Switzerland", "AT": "Austria", "IT": "Italy",
                 "FR": "France", "ES": "Spain", "NL": "Netherlands", "BE": "Belgium", "LU": "Luxembourg",
                 "PL": "Poland", "PT": "Portugal", "NO": "Norway", "SE": "Sweden", "SA": "Saudi Arabia"}


def load(wheel):
    rows = []
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(z.namelist()):
            if name.startswith("schwifty/bank_registry/") and name.endswith(".json"):
                d = json.loads(z.read(name))
                rows += d["entries"] if isinstance(d, dict) else d
    return rows


def institutions(rows):
    seen = {}
    for r in rows:
        bic = (r.get("bic") or "").strip().upper()
        name = (r.get("name") or "").strip()
        if len(bic) not in (8, 11) or not name:
            continue
        cc = (r.get("country_code") or "").upper()
        key = (cc, name.lower())
        if key not in seen:
            short = (r.get("short_name") or "").strip()
            seen[key] = {"id": cc + ":" + name.lower(), "bic": bic, "name": name,
                         "short": short or name, "cc": cc}
    return sorted(seen.values(), key=lambda e: e["id"])


LEGAL = {"ag", "sa", "s", "a", "spa", "plc", "ltd", "limited", "llc", "llp", "gmbh", "nv", "bv", "ab", "as",
         "asa", "se", "publ", "inc", "uab", "ad", "dd", "d", "srl", "sas", "cie"}


def group_name(name):
    """A crude folding (case, punctuation, a few legal forms) that only labels causes in
    rows.csv; the truth never depends on it."""
    words = "".join(c if c.isalnum() else " " for c in name.lower()).split()
    kept = [w for w in words if w not in LEGAL]
    return " ".join(kept or words)


def main(wheel, out="eval/banks"):
    rng = random.Random(SEED)
    ents = institutions(load(wheel))
    by_name = collections.defaultdict(list)
    for e in ents:
        by_name[group_name(e["name"])].append(e)
    groups = {e["id"]: f"homonym:{k}" for k, g in by_name.items() if len(g) > 1 for e in g}
    rng.shuffle(ents)
    n = len(ents)
    # A: the first 72 %, B: the last 72 %: 44 % in both.
    a_only, both, b_only = ents[: int(n * 0.28)], ents[int(n * 0.28): int(n * 0.72)], ents[int(n * 0.72):]
    # Homonym traps: of each name group, keep one member out of B and another out of A.
    for g in by_name.values():
        if len(g) < 2:
            continue
        members = [e for e in g if e in both]
        for e in members[:2]:
            both.remove(e)
            (a_only if len(a_only) <= len(b_only) else b_only).append(e)
    a_ents, b_ents = a_only + both, both + b_only
    rng.shuffle(a_ents)
    rng.shuffle(b_ents)
    tags = collections.defaultdict(set)

    def website(side, row):
        x = rng.random()
        if x < 0.05:
            tags[(side, row)].add("free-mail website")
            return rng.choice(FREE_MAIL)
        if x < 0.07:
            tags[(side, row)].add("placeholder website")
            return rng.choice(PLACEHOLDERS)
        return ""

    def country(side, row, cc):
        if rng.random() < 0.10:
            tags[(side, row)].add("country missing")
            return ""
        return COUNTRY_NAMES.get(cc, cc) if rng.random() < 0.5 else cc

    a_row_of, b_row_of = {}, {}
    with open(f"{out}/a.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Account ID", "Account Name", "Website", "Billing Country", "Type"])
        for i, e in enumerate(a_ents, 1):
            a_row_of[e["id"]] = i
            w.writerow([f"001A{i:06d}", e["name"], website("a", i), country("a", i, e["cc"]),
                        rng.choice(["Customer", "Prospect", "Customer - Direct", "Partner"])])
    with open(f"{out}/b.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Record ID", "Company name", "Website URL", "Country/Region", "Lifecycle Stage"])
        for i, e in enumerate(b_ents, 1):
            b_row_of[e["id"]] = i
            if e["short"].lower() != e["name"].lower():
                tags[("b", i)].add("name variant")
            w.writerow([f"{9000000 + i}", e["short"], website("b", i), country("b", i, e["cc"]),
                        rng.choice(["customer", "opportunity", "lead", "evangelist"])])
    with open(f"{out}/truth.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["a_row", "b_row", "class"])
        for e in sorted(both, key=lambda e: a_row_of[e["id"]]):
            a, b = a_row_of[e["id"]], b_row_of[e["id"]]
            t = tags[("a", a)] | tags[("b", b)]
            cls = next((c for c in ["name variant", "free-mail website", "country missing", "placeholder website"]
                        if c in t), "same name")
            w.writerow([a, b, cls])
    with open(f"{out}/rows.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["side", "row", "group", "tags"])
        for side, ents_, rows_of in (("a", a_ents, a_row_of), ("b", b_ents, b_row_of)):
            for e in ents_:
                r = rows_of[e["id"]]
                w.writerow([side, r, groups.get(e["id"], ""), ";".join(sorted(tags[(side, r)]))])
    print(f"{n} institutions; A {len(a_ents)} rows, B {len(b_ents)} rows, {len(both)} true pairs, "
          f"{sum(1 for g in by_name.values() if len(g) > 1)} homonym groups", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], *(sys.argv[2:3]))
