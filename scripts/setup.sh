#!/usr/bin/env bash
# Create the virtual environment and install laborflow with its dev extra.
set -euo pipefail
venv=${1:-.venv}
here=$(cd "$(dirname "$0")/.." && pwd)
py=$("$here/scripts/find_python.sh")
echo "laborflow set-up: using $py ($("$py" --version 2>&1))"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e "$here[dev]"
echo "laborflow set-up: installed into $venv"
