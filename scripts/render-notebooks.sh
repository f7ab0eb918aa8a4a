#!/usr/bin/env bash
# npm run notebooks:render [-- NAME ...]: executes tutorial notebooks in a real tslab kernel and writes, for each,
# docs/notebooks/<name>.ipynb (the executed copy, with its outputs and execution counts) and
# docs/notebooks/<name>.html (nbconvert's basic template in a small page: scripts/notebook_html.py), so that readers on a code host see the charts without running
# anything. Default: every notebooks/NN-*.ipynb. A notebook that fails leaves its earlier copies as they were.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-notebooks.sh
export JUPYTER_PATH="$PWD/.jupyter-prefix/share/jupyter"
paths=()
if [[ $# -gt 0 ]]; then
  for name in "$@"; do paths+=("notebooks/${name%.ipynb}.ipynb"); done
else
  paths=(notebooks/[0-9][0-9]-*.ipynb)
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
status=0
/usr/bin/python3 scripts/run_notebooks.py "$out" "${paths[@]}" || status=$?
mkdir -p docs/notebooks
for path in "${paths[@]}"; do
  name="$(basename "$path" .ipynb)"
  # only notebooks that ran to the end (every code cell has its execution count) replace their copies
  if ! /usr/bin/python3 -c 'import json, sys; nb = json.load(open(sys.argv[1])); sys.exit(any(c["cell_type"] == "code" and c.get("execution_count") is None for c in nb["cells"]))' "$out/$name.ipynb"; then
    echo "render: $name did not run to the end; docs/notebooks/$name.* left as they were" >&2
    continue
  fi
  cp "$out/$name.ipynb" "docs/notebooks/$name.ipynb"
  /usr/bin/python3 scripts/notebook_html.py "docs/notebooks/$name.ipynb" >/dev/null
  echo "render: docs/notebooks/$name.ipynb ($(du -k "docs/notebooks/$name.ipynb" | cut -f1) KiB), docs/notebooks/$name.html ($(du -k "docs/notebooks/$name.html" | cut -f1) KiB)"
done
exit $status
