#!/usr/bin/env bash
# Create the virtual environment and install laborflow with its dev extra.
set -euo pipefail
venv=${1:-.venv}
here=$(cd "$(dirname "$0")/.." && pwd)
py=$("$here/scripts/find_python.sh")
echo "laborflow set-up: using $py ($("$py" --version 2>&1))"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
# editable_mode=compat: a plain path in a .pth file, so that Python starts without running an
# import hook (a Ctrl-C in the first tenth of a second then meets laborflow's handler, not a
# traceback from the interpreter's start-up); setuptools calls the mode transitional, so
# fall back to its default where it is gone.
"$venv/bin/python" -m pip install --quiet -e "$here[dev]" --config-settings editable_mode=compat \
  || "$venv/bin/python" -m pip install --quiet -e "$here[dev]"
echo "laborflow set-up: installed into $venv"
