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
- a country missing on one side;
- CRM spellings of shared institutions' names on side B: umlauts written out (`Mueller`),
  one-letter typos, legal forms written another way (`Aktiengesellschaft` for `AG`);
- institutions one edit apart (other organisations a typo-tolerant key would join) are
  labelled in rows.csv.
Writes a.csv, b.csv, truth.csv (a_row, b_row, class) and rows.csv (side, row, group, tags).
"""
import collections
import io
import json
import random
import re
import sys
import zipfile

from evalsets import FREE_MAIL, HUBSPOT, SALESFORCE, write_export, write_rows, write_truth

SEED = 20261201
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
    """One entry per institution. A registered name in a country is an institution; two
    names of one country that the registry gives the same BIC are one institution under two
    spellings (`OESTERREICHISCHE KONTROLLBANK AKTIENGESELLSCHAFT` / `... AG`), unless the
    BIC is a routing code that more than MAX_NAMES_PER_BIC names share. Both identities are
    the source's own (the registered name, the BIC), never our normalizer's."""
    seen = {}
    bic_names = collections.defaultdict(set)
    for r in rows:
        bic = (r.get("bic") or "").strip().upper()
        name = (r.get("name") or "").strip()
        if len(bic) not in (8, 11) or not name:
            continue
        bic = bic if len(bic) == 11 else bic + "XXX"
        cc = (r.get("country_code") or "").upper()
        key = (cc, name.lower())
        bic_names[(cc, bic)].add(key)
        if key not in seen:
            short = (r.get("short_name") or "").strip()
            seen[key] = {"id": cc + ":" + name.lower(), "bic": bic, "name": name,
                         "short": short or name, "cc": cc}
    parent = {k: k for k in seen}

    def root(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for names in bic_names.values():
        if 1 < len(names) <= MAX_NAMES_PER_BIC:
            first, *rest = sorted(names)
            for k in rest:
                parent[root(k)] = root(first)
    members = collections.defaultdict(list)
    for k in sorted(seen):
        members[root(k)].append(seen[k])
    out = []
    for group in members.values():
        # A keeps the first registered spelling, B the short name of another where there is one.
        head = dict(group[0])
        head["id"] = group[0]["id"]
        if len(group) > 1:
            head["short"] = group[1]["short"]
        out.append(head)
    return sorted(out, key=lambda e: e["id"])


MAX_NAMES_PER_BIC = 3

LEGAL = {"ag", "sa", "s", "a", "spa", "plc", "ltd", "limited", "llc", "llp", "gmbh", "nv", "bv", "ab", "as",
         "asa", "se", "publ", "inc", "uab", "ad", "dd", "d", "srl", "sas", "cie"}


def group_name(name):
    """A crude folding (case, punctuation, a few legal forms) that only labels causes in
    rows.csv; the truth never depends on it."""
    words = "".join(c if c.isalnum() else " " for c in name.lower()).split()
    kept = [w for w in words if w not in LEGAL]
    return " ".join(kept or words)


UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}
# How a CRM user may write the legal form the registry spells one way (the end of a name).
LEGAL_RESPELL = [(r"\bAG$", "Aktiengesellschaft"), (r"\bAktiengesellschaft$", "AG"),
                 (r"\bGmbH$", "Gesellschaft mit beschränkter Haftung"), (r"\bS\.A\.$", "SA"),
                 (r",? S\.A\.$", " Sociedad Anónima"), (r"\bS\.p\.A\.$", "SpA"),
                 (r"\bSPA$", "Società per Azioni"), (r"\bLtd\.?$", "Limited"), (r"\bLIMITED$", "Ltd."),
                 (r"\bPLC$", "Public Limited Company"), (r"\beG$", "e.G."), (r"\bN\.V\.$", "NV"),
                 (r"\bAB$", "Aktiebolag"), (r"\bS\.L\.$", "SL"), (r"\bAS$", "A/S"), (r"\bSE$", "Societas Europaea")]
KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"


def typo(name, rng):
    """One edit (substitution, deletion, transposition, doubling) inside a word of five or
    more letters, as a person typing the name makes it."""
    words = [(m.start(), m.end()) for m in re.finditer(r"[A-Za-zÀ-ž]{5,}", name)]
    if not words:
        return None
    start, end = rng.choice(words)
    i = rng.randrange(start + 1, end - 1)
    kind = rng.randrange(4)
    if kind == 0:
        c = name[i]
        k = KEYBOARD.find(c.lower())
        repl = KEYBOARD[(k + 1) % len(KEYBOARD)] if k >= 0 else "x"
        return name[:i] + (repl.upper() if c.isupper() else repl) + name[i + 1:]
    if kind == 1:
        return name[:i] + name[i + 1:]
    if kind == 2:
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    return name[:i] + name[i] + name[i:]


def respell_legal_form(name):
    for pattern, repl in LEGAL_RESPELL:
        if re.search(pattern, name):
            return re.sub(pattern, repl, name)
    return None


def one_edit_groups(ents):
    """Institutions whose folded names are one edit apart (and not equal): another
    organisation a typo away, which a typo-tolerant key would take for the same."""
    by_variant = collections.defaultdict(set)
    names = {e["id"]: group_name(e["name"]) for e in ents}
    for i, n in names.items():
        if len(n) < 6:
            continue
        by_variant[n].add(i)
        for k in range(len(n)):
            by_variant[n[:k] + "\0" + n[k + 1:]].add(i)
            by_variant[n[:k] + n[k + 1:]].add(i)
    groups = collections.defaultdict(list)
    for v, ids in by_variant.items():
        distinct = {names[i] for i in ids}
        if len(distinct) > 1:
            for i in sorted(ids):
                groups[i].append("one-edit:" + v.replace("\0", "?"))
    return groups


def main(wheel, out="eval/banks"):
    rng = random.Random(SEED)
    ents = institutions(load(wheel))
    by_name = collections.defaultdict(list)
    for e in ents:
        by_name[group_name(e["name"])].append(e)
    groups = collections.defaultdict(list)
    for k, g in by_name.items():
        if len(g) > 1:
            for e in g:
                groups[e["id"]].append(f"homonym:{k}")
    for i, gs in one_edit_groups(ents).items():
        groups[i] += gs[:2]
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

    # CRM spellings of the registered name on side B, for some of the shared institutions:
    # umlauts written out (half of the names that have one), a one-letter typo (5 %), the
    # legal form written another way (5 %). Otherwise B has the registry's short name.
    b_name, b_class = {}, {}
    for e in sorted(both, key=lambda e: e["id"]):
        x = rng.random()
        if any(c in e["name"] for c in UMLAUTS) and x < 0.5:
            b_name[e["id"]] = "".join(UMLAUTS.get(c, c) for c in e["name"])
            b_class[e["id"]] = "umlaut spelling"
        elif x < 0.05 and (typed := typo(e["name"], rng)):
            b_name[e["id"]] = typed
            b_class[e["id"]] = "typo"
        elif x < 0.10 and respell_legal_form(e["name"]):
            b_name[e["id"]] = respell_legal_form(e["name"])
            b_class[e["id"]] = "legal form"

    def a_row(i, e):
        return [f"001A{i:06d}", e["name"], website("a", i), country("a", i, e["cc"]),
                rng.choice(["Customer", "Prospect", "Customer - Direct", "Partner"])]

    def b_row(i, e):
        name = b_name.get(e["id"], e["short"])
        if e["id"] in b_class:
            tags[("b", i)].add(b_class[e["id"]])
        elif name.lower() != e["name"].lower():
            tags[("b", i)].add("name variant")
        return [f"{9000000 + i}", name, website("b", i), country("b", i, e["cc"]),
                rng.choice(["customer", "opportunity", "lead", "evangelist"])]

    a_row_of = write_export(f"{out}/a.csv", SALESFORCE, a_ents, a_row)
    b_row_of = write_export(f"{out}/b.csv", HUBSPOT, b_ents, b_row)
    write_truth(out, [(a_row_of[e["id"]], b_row_of[e["id"]]) for e in both], tags,
                ["typo", "umlaut spelling", "legal form", "name variant", "free-mail website", "country missing",
                 "placeholder website"], "same name")
    write_rows(out, [(side, [(e["id"], rows_of[e["id"]]) for e in ents_])
                     for side, ents_, rows_of in (("a", a_ents, a_row_of), ("b", b_ents, b_row_of))], groups, tags)
    print(f"{n} institutions; A {len(a_ents)} rows, B {len(b_ents)} rows, {len(both)} true pairs, "
          f"{sum(1 for g in by_name.values() if len(g) > 1)} homonym groups", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], *(sys.argv[2:3]))
