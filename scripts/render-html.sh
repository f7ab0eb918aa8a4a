#!/usr/bin/env bash
# Renders an HTML file (a display's .html, or a notebook exported to HTML) to PNG with Debian's headless
# Chromium, to look at what users see:  scripts/render-html.sh in.html out.png [width] [height]
set -euo pipefail
in="$(realpath "$1")"; out="$(realpath -m "$2")"; w="${3:-1200}"; h="${4:-900}"
command -v chromium >/dev/null || { echo "render-html: chromium is not installed (apt-get install chromium)" >&2; exit 1; }
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size="$w,$h" --screenshot="$out" "file://$in" >/dev/null 2>&1
echo "$out"
