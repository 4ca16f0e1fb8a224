#!/usr/bin/env python3
"""OpenMined PSI on the same lists as `acctmap bench`, one key per account, for the
comparison in docs/performance.md (issue 12). Not part of the test suite.

    pip install openmined.psi==2.0.6
    acctmap generate --rows 100000 --overlap 0.3 --seed 7 --out /tmp/b100k
    python3 scripts/bench_openmined.py /tmp/b100k/a.csv /tmp/b100k/b.csv

The key of an account is its lower-cased name (the content does not change the cost: one
hash-to-curve and two scalar multiplications per element, as in a one-key DH-PSI). Prints
wall seconds and accounts per second per side. OpenMined's library is single-threaded.
"""
import csv
import sys
import time

from private_set_intersection.python import client as psi_client, server as psi_server, DataStructure


def names(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        r = csv.reader(f)
        next(r)
        return sorted({row[1].strip().lower() for row in r if len(row) > 1 and row[1].strip()})


def main(a_path, b_path):
    a, b = names(a_path), names(b_path)
    t = time.perf_counter()
    c = psi_client.CreateWithNewKey(True)
    s = psi_server.CreateWithNewKey(True)
    setup = s.CreateSetupMessage(1e-9, len(a), b, DataStructure.RAW)
    request = c.CreateRequest(a)
    response = s.ProcessRequest(request)
    common = c.GetIntersection(setup, response)
    wall = time.perf_counter() - t
    n = max(len(a), len(b))
    print(f"openmined.psi 2.0.6: {len(a)} x {len(b)} keys, {len(common)} in common, "
          f"{wall:.2f} s, {n / wall:,.0f} accounts/s per side")


if __name__ == "__main__":
    main(*sys.argv[1:3])
