#!/usr/bin/env bash
# Writes the seed corpora of the `message` and `session` fuzz targets (fuzz/corpus/) from a
# real file exchange between two small lists, one side counting a population, so that every
# message type (1 to 6) and both nested parts (counts, pair round) are seeded. Run it after a
# change of the wire format: seeds of another version stop at the version check.
#
#   scripts/fuzz-seeds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cargo build --release --locked -q -p mapping-cli
bin=$root/target/release/acctmap
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
{
  echo "Account Name,Website,Billing Country,Type"
  for i in $(seq 0 11); do
    site=""; [ $((i % 3)) -eq 0 ] && site="firm$i.com"
    kind=Customer; [ $((i % 4)) -eq 0 ] && kind=Prospect
    echo "Firm$i GmbH,$site,DE,$kind"
  done
} >a.csv
{
  echo "Company name,Company Domain Name,Country/Region,Lifecycle Stage"
  for i in $(seq 6 17); do
    site=""; [ $((i % 3)) -eq 0 ] && site="firm$i.com"
    echo "Firm$i,$site,Germany,customer"
  done
} >b.csv
printf '[population."Prospects"]\nshare = "counts"\n' >counts.toml
"$bin" start a.csv --message m1 --state a.state --policy counts.toml -q
"$bin" respond b.csv --to m1 --message m2 --state b.state -q
"$bin" continue --reply m2 --message m3 --state a.state -q
"$bin" continue --reply m3 --message m4 --state b.state -q
"$bin" continue --reply m4 --message m5 --state a.state -q
"$bin" complete --reply m5 --message m6 --state b.state --out rb -q
"$bin" complete --reply m6 --state a.state --out ra -q
python3 - "$root/fuzz/corpus" <<'EOF'
import hashlib, pathlib, sys
corpus = pathlib.Path(sys.argv[1])
msgs = {n: pathlib.Path(f"m{n}").read_bytes() for n in range(1, 7)}
for d in ("message", "session"):
    for old in (corpus / d).glob("*"):
        old.unlink()
# message: mode byte 0 = as sent (checksum included), 1 = resealed by the target.
for n, m in msgs.items():
    (corpus / "message" / f"m{n}-raw").write_bytes(b"\0" + m)
    (corpus / "message" / f"m{n}-resealed").write_bytes(b"\1" + m[:-32])
# session: bits 0-1 the step (0: message 3 to the responder, 1: message 2 to the initiator,
# 2: message 4 to the initiator's step 5, 3: message 5 to the responder's step 6); bit 2
# set: overwrite a field of the target's own honest message (bits 3+: returned, proofs,
# points) with the bytes that follow; clear: the bytes are a whole message, resealed.
for step, n in ((0, 3), (1, 2), (2, 4), (3, 5)):
    (corpus / "session" / f"step{step}-whole-m{n}").write_bytes(bytes([step]) + msgs[n][:-32])
    for field, name in enumerate(("returned", "proofs", "points")):
        filler = hashlib.sha512(f"{step}{name}".encode()).digest()
        mode = step | 4 | field << 3
        (corpus / "session" / f"step{step}-overwrite-{name}").write_bytes(bytes([mode]) + filler)
EOF
echo "fuzz seeds written: $(ls "$root/fuzz/corpus/message" | wc -l) message, $(ls "$root/fuzz/corpus/session" | wc -l) session"
