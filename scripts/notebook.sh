#!/usr/bin/env bash
# npm run notebook: register the kernel (project-local) and start Jupyter on 127.0.0.1 in notebooks/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-notebooks.sh
export JUPYTER_PATH="$PWD/.jupyter-prefix/share/jupyter"
exec /usr/bin/jupyter notebook --ip=127.0.0.1 --no-browser --notebook-dir="$PWD/notebooks" "$@"
