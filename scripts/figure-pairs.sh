#!/bin/sh
# Before/after pairs of report figures (issue 18): runs three figures with two solvable binaries and, where
# headless Chromium is installed, screenshots each report.
#   scripts/figure-pairs.sh BEFORE_BINARY AFTER_BINARY OUT
# e.g. BEFORE = a build of main before the change, AFTER = .build/release/solvable. Writes OUT/{before,after}/<figure>/
# (report.html, SVG panels; AFTER also the data and plot_<figure>.py) and OUT/<figure>-{before,after}.png.
#   fluctuations-online            300 markers over the theory line -> thinned markers, Unicode Σ_Δ, Σ_⊥, N·Var
#   fluctuations-width-scaling     log axes with 10ⁿ and minor ticks, error bars with caps, reference slope −1
#   fluctuations-edge-of-stability y-axis 1e-32..0.1 -> clipped at 10⁻¹⁰ at the round-off floor, said in the caption
set -eu
[ $# -eq 3 ] || { echo "usage: $0 BEFORE_BINARY AFTER_BINARY OUT" >&2; exit 2; }
before=$1 after=$2 out=$3
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
for fig in fluctuations-online fluctuations-width-scaling fluctuations-edge-of-stability; do
    for side in before after; do
        bin=$before; [ "$side" = after ] && bin=$after
        dir=$out/$side/$fig
        "$bin" reproduce --figure "$fig" --out "$dir" --quiet >/dev/null
        if [ -n "$chrome" ]; then
            "$chrome" --headless --disable-gpu --no-sandbox --hide-scrollbars --window-size=1440,1400 \
                --screenshot="$out/$fig-$side.png" "file://$(cd "$dir" && pwd)/report.html#$fig" >/dev/null 2>&1 || true
        fi
    done
done
echo "reports: $out/before/<figure>/report.html and $out/after/<figure>/report.html"
[ -n "$chrome" ] && echo "screenshots: $out/<figure>-before.png and $out/<figure>-after.png"
exit 0
