#!/usr/bin/env bash
# Registers the tslab TypeScript kernel for this project only (no global side effects) and makes the
# package importable by name from notebooks/. Needs Debian's Jupyter (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
JUPYTER_PACKAGES=(jupyter-notebook jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel)
if [[ ! -x /usr/bin/jupyter ]] || ! /usr/bin/python3 -c "import nbclient, ipykernel, notebook" 2>/dev/null; then
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing Debian's Jupyter: ${JUPYTER_PACKAGES[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${JUPYTER_PACKAGES[@]}" >/dev/null
  else
    echo "Jupyter is missing: sudo apt-get install -y ${JUPYTER_PACKAGES[*]}" >&2
    exit 1
  fi
fi
[[ -d node_modules/tslab ]] || { echo "run npm install first" >&2; exit 1; }
npm run --silent build
# notebooks import "autocnet-ts" by name: resolve it to this checkout; and its commands resolve as in a
# project that installed the package (npx autocnet-worker, npx autocnet-sentinel)
ln -sfn .. node_modules/autocnet-ts
mkdir -p node_modules/.bin
ln -sfn ../autocnet-ts/dist/bin/worker.js node_modules/.bin/autocnet-worker
ln -sfn ../autocnet-ts/dist/bin/sentinel.js node_modules/.bin/autocnet-sentinel
node node_modules/tslab/bin/tslab install --python=/usr/bin/python3 --binary="$PWD/node_modules/.bin/tslab" \
  --prefix="$PWD/.jupyter-prefix" >/dev/null
echo "tslab kernel registered under $PWD/.jupyter-prefix (use JUPYTER_PATH=$PWD/.jupyter-prefix/share/jupyter)"
