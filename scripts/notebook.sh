#!/usr/bin/env bash
# npm run notebook: register the kernel (project-local) and start Jupyter on 127.0.0.1 in notebooks/.
# Extra arguments go to Jupyter (e.g. npm run notebook -- --port=8899).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-notebooks.sh
export JUPYTER_PATH="$PWD/.jupyter-prefix/share/jupyter"
extra=()
# Jupyter refuses to start as root without this; root is how this machine kind and the README's install lines run
[[ "$(id -u)" == 0 ]] && extra+=(--allow-root)
exec /usr/bin/jupyter notebook --ip=127.0.0.1 --no-browser --notebook-dir="$PWD/notebooks" "${extra[@]}" "$@"
