#!/usr/bin/env bash
# Print the path of a Python >= 3.12 on this machine, or explain and fail.
# Order: $PYTHON, python3.12+ on PATH, pyenv installs, python3 (3.12 first: the version the project is tested with).
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
for name in python3.12 python3.13 python3.14; do
  p=$(command -v "$name" 2>/dev/null) && candidates+=("$p")
done
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for d in $(ls -d "$root"/versions/3.1[2-9]* 2>/dev/null | sort -V); do
    for exe in "$d"/bin/python3.1[2-9]; do [ -x "$exe" ] && candidates+=("$exe"); done
  done
fi
p=$(command -v python3 2>/dev/null) && candidates+=("$p")
for c in "${candidates[@]}"; do
  if ok "$c"; then echo "$c"; exit 0; fi
done
echo "laborflow needs Python >= 3.12 (Mesa 3.5 requires it); none found." >&2
echo "Install one (e.g. 'pyenv install 3.12' or your OS package) or set PYTHON=/path/to/python3.12." >&2
exit 1
