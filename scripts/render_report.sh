#!/usr/bin/env bash
# Renders a BrainSem HTML report in headless Chromium (Debian's chromium) and checks it:
# the page loads, every embedded image decodes, and each expected text appears in the DOM.
#   scripts/render_report.sh REPORT.html [SCREENSHOT.png] [EXPECTED_TEXT...]
# Exit 0 = all good, 1 = a check failed, 77 = chromium not installed (skip).
set -euo pipefail
report=${1:?usage: render_report.sh REPORT.html [SCREENSHOT.png] [EXPECTED_TEXT...]}
shot=${2:-}
shift $(( $# >= 2 ? 2 : $# ))
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$browser" ]]; then
  echo "render_report: chromium not found (apt-get install chromium); skipping" >&2
  exit 77
fi
[[ -f "$report" ]] || { echo "render_report: no such file $report" >&2; exit 1; }
url="file://$(realpath "$report")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A copy with a probe script that records, after load, how many images decoded (naturalWidth > 0).
probe='<script>window.addEventListener("load",function(){var i=[].slice.call(document.images);'
probe+='var ok=i.filter(function(x){return x.complete&&x.naturalWidth>0}).length;'
probe+='var p=document.createElement("pre");p.id="render-probe";'
probe+='p.textContent="images "+ok+"/"+i.length+" tables "+document.querySelectorAll("table").length;'
probe+='document.body.appendChild(p)});</script>'
sed "s#</body>#${probe//&/\\&}</body>#" "$report" > "$work/page.html"
flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-dev-shm-usage
       --user-data-dir="$work/profile" --virtual-time-budget=5000)
"$browser" "${flags[@]}" --dump-dom "file://$work/page.html" > "$work/dom.html" 2> "$work/log" || {
  cat "$work/log" >&2; exit 1; }
probe_line=$(grep -o 'render-probe">[^<]*' "$work/dom.html" | sed 's/.*">//' || true)
echo "render_report: $probe_line"
read -r _ images _ tables <<< "$probe_line"
if [[ -z "$images" || "${images%/*}" != "${images#*/}" ]]; then
  echo "render_report: not every image decoded ($images)" >&2; exit 1
fi
for text in "$@"; do
  grep -qF -- "$text" "$work/dom.html" || { echo "render_report: '$text' not in the page" >&2; exit 1; }
done
if [[ -n "$shot" ]]; then
  "$browser" "${flags[@]}" --hide-scrollbars --window-size=1200,900 --screenshot="$shot" "$url" \
    2> "$work/log" >/dev/null || { cat "$work/log" >&2; exit 1; }
  [[ -s "$shot" ]] || { echo "render_report: no screenshot written" >&2; exit 1; }
fi
echo "render_report: OK ($tables tables)"
