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
