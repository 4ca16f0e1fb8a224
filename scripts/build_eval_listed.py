#!/usr/bin/env python3
"""Builds the second real-data evaluation set, eval/listed/, from the listed companies that
the pytickersymbols package ships (MIT; compiled from Wikipedia's index-constituent and
company pages, see eval/listed/LICENSES.md).

    pip download --no-deps -d /tmp/pyt pytickersymbols==1.17.10
    python3 scripts/build_eval_listed.py /tmp/pyt/pytickersymbols-1.17.10-py3-none-any.whl

eval/banks has no websites; this set has the companies' own, as the source writes them
(`www.sumcosi.com /english /index.html`, `epirocgroup.com epiroc.com`, `Official website`),
so it exercises what eval/banks cannot: DOMAIN keys, brand labels, and domains or countries
that disagree for one company. Identity and truth come from the source: a company is one
security (its first ISIN, else its ticker), listed in one or more of 20 indices.

Side A is a Salesforce-style export: the index's company name, the website field as given,
and the source's `country` field as a billing country (which is sometimes a US city and
state, and sometimes the listing country rather than the seat: `Canon Inc.` is in the
United Kingdom there). Side B is a HubSpot-style export: the company's Wikipedia article
title as its name (`O'Reilly Automotive` for `O'Reilly Auto Parts`), the last domain the
website field lists (`epiroc.com` where A has `epirocgroup.com`) written as a URL, and the
last part of the headquarters field as its country (`U.S.`, `Japan`, `UK`). Planted with a
fixed seed: free-mail websites (5 % of rows a side), websites left empty (10 % of B), a
country left empty (10 % a side). Companies whose names or website labels collide with
another company's are labelled in rows.csv (`homonym:`, `label:` groups).

Writes a.csv, b.csv, truth.csv (a_row, b_row, class) and rows.csv (side, row, group, tags).
"""
import collections
import random
import re
import sys
import urllib.parse
import zipfile

from evalsets import FREE_MAIL, HUBSPOT, SALESFORCE, write_export, write_rows, write_truth

SEED = 20261206


def load(wheel):
    """The INDICES table of pytickersymbols/indices_data.py, read without importing it."""
    with zipfile.ZipFile(wheel) as z:
        source = z.read("pytickersymbols/indices_data.py").decode("utf-8")
    scope = {}
    exec(compile(source, "indices_data.py", "exec"), scope)  # a data module: one literal
    return scope["INDICES"]


def companies(indices):
    seen = {}
    for index in sorted(indices):
        for c in indices[index]["companies"]:
            key = (c.get("isins") or [None])[0] or c.get("symbol") or c["name"]
            if key not in seen:
                seen[key] = dict(c, id=key)
    return sorted(seen.values(), key=lambda c: c["id"])


def wiki_title(c):
    url = (c.get("metadata") or {}).get("wikipedia_url") or ""
    title = urllib.parse.unquote(url.rsplit("/", 1)[-1]).replace("_", " ").strip()
    # Wikipedia's disambiguator is not part of the name: `Douglas (company)`.
    return re.sub(r"\s*\([^)]*\)$", "", title) or c["name"]


def domains(website):
    """The host names a website field lists, in order (`epirocgroup.com epiroc.com`)."""
    found = re.findall(r"(?:[a-z0-9-]+\.)+[a-z]{2,}", (website or "").lower())
    return [d[4:] if d.startswith("www.") else d for d in found]


def hq_country(c):
    hq = (c.get("metadata") or {}).get("headquarters") or ""
    hq = re.split(r"[(\n]|\d+°", hq)[0]
    parts = [p.strip(" ,.;") for p in hq.split(",") if p.strip(" ,.;")]
    return parts[-1] if parts else ""


def fold(name):
    """A crude folding that only labels groups in rows.csv; the truth never depends on it."""
    words = "".join(ch if ch.isalnum() else " " for ch in name.lower()).split()
    legal = {"inc", "corp", "corporation", "co", "ltd", "plc", "ag", "se", "sa", "nv", "group", "holdings", "the"}
    return " ".join(w for w in words if w not in legal) or name.lower()


def main(wheel, out="eval/listed"):
    rng = random.Random(SEED)
    ents = companies(load(wheel))
    groups = collections.defaultdict(list)
    by_name, by_label = collections.defaultdict(list), collections.defaultdict(list)
    for c in ents:
        by_name[fold(c["name"])].append(c["id"])
        for d in domains((c.get("metadata") or {}).get("website")):
            by_label[d.split(".")[0]].append(c["id"])
    for kind, table in (("homonym", by_name), ("label", by_label)):
        for k, ids in table.items():
            if len(set(ids)) > 1:
                for i in sorted(set(ids)):
                    groups[i].append(f"{kind}:{k}")
    rng.shuffle(ents)
    n = len(ents)
    # A: the first 70 %, B: the last 70 %: 40 % in both.
    a_ents, b_ents = ents[: int(n * 0.7)], ents[int(n * 0.3):]
    both = {c["id"] for c in ents[int(n * 0.3): int(n * 0.7)]}
    rng.shuffle(a_ents)
    rng.shuffle(b_ents)
    tags = collections.defaultdict(set)

    def country(side, row, value):
        if not value:
            tags[(side, row)].add("country missing")
            return ""
        if rng.random() < 0.10:
            tags[(side, row)].add("country missing")
            return ""
        return value

    def free_mail(side, row):
        if rng.random() < 0.05:
            tags[(side, row)].add("free-mail website")
            return rng.choice(FREE_MAIL)
        return None

    def a_row(i, c):
        site = (c.get("metadata") or {}).get("website") or ""
        if not domains(site):
            tags[("a", i)].add("no website")
        site = free_mail("a", i) or site
        return [f"001A{i:06d}", c["name"], site, country("a", i, c.get("country") or ""),
                rng.choice(["Customer", "Prospect", "Customer - Direct", "Partner"])]

    def b_row(i, c):
        listed = domains((c.get("metadata") or {}).get("website"))
        site = f"https://www.{listed[-1]}/" if listed else ""
        if not listed:
            tags[("b", i)].add("no website")
        elif len(set(listed)) > 1:
            tags[("b", i)].add("another domain")
        if listed and rng.random() < 0.10:
            tags[("b", i)].add("no website")
            site = ""
        site = free_mail("b", i) or site
        name = wiki_title(c)
        if fold(name) != fold(c["name"]):
            tags[("b", i)].add("name variant")
        return [f"{9000000 + i}", name, site, country("b", i, hq_country(c)),
                rng.choice(["customer", "opportunity", "lead", "evangelist"])]

    a_row_of = write_export(f"{out}/a.csv", SALESFORCE, a_ents, a_row)
    b_row_of = write_export(f"{out}/b.csv", HUBSPOT, b_ents, b_row)
    write_truth(out, [(a_row_of[i], b_row_of[i]) for i in both], tags,
                ["name variant", "another domain", "free-mail website", "no website", "country missing"],
                "same name and site")
    write_rows(out, [(side, [(c["id"], rows_of[c["id"]]) for c in ents_])
                     for side, ents_, rows_of in (("a", a_ents, a_row_of), ("b", b_ents, b_row_of))], groups, tags)
    print(f"{n} companies; A {len(a_ents)} rows, B {len(b_ents)} rows, {len(both)} true pairs", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], *(sys.argv[2:3]))
