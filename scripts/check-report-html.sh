#!/usr/bin/env bash
# Renders a report.html in headless Chromium (Debian's `chromium` package) and fails when
# the page logs anything to the console (errors, uncaught exceptions) or when its script did
# not fill the matched-accounts table. Writes screenshots at 1024 and 1400 px wide next to
# the report (report-1024.png, report-1400.png: CI's artefacts of the page).
#
# usage: scripts/check-report-html.sh REPORT_DIR [MIN_ROWS]
set -euo pipefail
dir=${1:?usage: $0 REPORT_DIR [MIN_ROWS]}
min_rows=${2:-1}
html="$(cd "$dir" && pwd)/report.html"
[ -f "$html" ] || { echo "check-report-html: no report.html in $dir" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "check-report-html: chromium is not installed (apt-get install chromium)" >&2; exit 3; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$profile" --window-size=1400,1800)
dom=$(timeout 120 "$browser" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$html" 2>"$profile/log")
console=$(grep -E ':CONSOLE|Uncaught' "$profile/log" || true)
if [ -n "$console" ]; then
  echo "check-report-html: the page logged to the console:" >&2
  echo "$console" >&2
  exit 1
fi
rows=$(printf '%s' "$dom" | tr -d '\n' | sed 's:.*<tbody id="matches-body">::; s:</tbody>.*::' | grep -o '<tr>' | wc -l)
if [ "$rows" -lt "$min_rows" ]; then
  echo "check-report-html: the matches table has $rows rows after the script ran (expected at least $min_rows)" >&2
  exit 1
fi
for width in 1024 1400; do
  timeout 120 "$browser" "${flags[@]}" --window-size="$width,1800" --screenshot="$dir/report-$width.png" "file://$html" >/dev/null 2>&1
done
echo "check-report-html: $html rendered with no console output, $rows table rows; screenshots $dir/report-1024.png, $dir/report-1400.png"
