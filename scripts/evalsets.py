"""What the build scripts of the evaluation sets in eval/ share: the free-mail domains
planted as websites, and the truth and row-annotation files that `acctmap eval` reads."""
import csv

FREE_MAIL = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "web.de", "gmx.de", "yahoo.co.jp",
             "mail.ru", "orange.fr", "libero.it", "btinternet.com", "t-online.de", "icloud.com", "aol.com"]


def write_truth(out, pairs, tags, classes, default):
    """truth.csv: one line per true pair (a_row, b_row), classed by the first of `classes`
    that the two rows' tags hold, else `default`."""
    with open(f"{out}/truth.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["a_row", "b_row", "class"])
        for a, b in sorted(pairs):
            t = tags[("a", a)] | tags[("b", b)]
            w.writerow([a, b, next((c for c in classes if c in t), default)])


def write_rows(out, sides, groups, tags):
    """rows.csv: every row's groups (organisations a false pair may share) and planted tags.
    `sides` is [(side, [(id, row), ...]), ...]."""
    with open(f"{out}/rows.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["side", "row", "group", "tags"])
        for side, rows in sides:
            for ident, r in rows:
                w.writerow([side, r, ";".join(groups.get(ident, [])), ";".join(sorted(tags[(side, r)]))])


SALESFORCE = ["Account ID", "Account Name", "Website", "Billing Country", "Type"]
HUBSPOT = ["Record ID", "Company name", "Website URL", "Country/Region", "Lifecycle Stage"]


def write_export(path, header, ents, row):
    """One side's export: `row(i, ent)` gives row i's fields (rows count from 1). Returns
    each entity's row, by its id."""
    rows_of = {}
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i, e in enumerate(ents, 1):
            rows_of[e["id"]] = i
            w.writerow(row(i, e))
    return rows_of
