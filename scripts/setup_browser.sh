#!/usr/bin/env bash
# What the app and its browser tests need beyond pip: a Chromium, and Solara's front-end files.
#
# Usage: scripts/setup_browser.sh [VENV]   (default .venv)
#
# - Chromium from Debian (apt) when no chromium is on the machine; Playwright's own browser
#   download fails on machines without general internet access, and the tests drive /usr/bin/chromium.
# - Solara serves its JavaScript and CSS through a local proxy that otherwise fetches them from
#   a CDN at run time: offline, pages never render. The CDN path /npm/PKG@VER/FILE is the npm
#   tarball's package/FILE, so the cache is filled from the npm registry (`npm pack`), into
#   $SOLARA_ASSETS_PROXY_CACHE_DIR or else VENV/share/solara/cdn (Solara's default, outside git).
#   The versions are read from the installed Solara, so an upgrade fetches what it asks for.
#
# Idempotent and fast when everything is present (no apt, no npm).
set -euo pipefail
venv=${1:-.venv}
py="$venv/bin/python"
[ -x "$py" ] || { echo "setup_browser: no Python at $py; run scripts/setup.sh first" >&2; exit 1; }

# --- Chromium -------------------------------------------------------------------------------
chromium=${CHROMIUM:-}
if [ -z "$chromium" ]; then
  for c in /usr/bin/chromium chromium chromium-browser; do
    if command -v "$c" >/dev/null 2>&1; then chromium=$(command -v "$c"); break; fi
  done
fi
if [ -z "$chromium" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup_browser: installing chromium (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    chromium=/usr/bin/chromium
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "setup_browser: installing chromium (sudo apt)"
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    chromium=/usr/bin/chromium
  else
    echo "setup_browser: no chromium found and not root: install it (Debian: apt-get install chromium)" >&2
    echo "  or set CHROMIUM=/path/to/chromium; the browser tests need it" >&2
    exit 1
  fi
fi
echo "setup_browser: chromium: $chromium ($("$chromium" --version 2>/dev/null || echo '?'))"

# --- Solara's front-end files -----------------------------------------------------------------
solara_dir=$("$py" -c 'import os, solara; print(os.path.dirname(solara.__file__))')
cache=${SOLARA_ASSETS_PROXY_CACHE_DIR:-$("$py" -c 'import sys; print(sys.prefix)')/share/solara/cdn}
# The specs the page asks for: the Vue 2 app bundle (not the vuetify3 one), requirejs, the icon
# font and the grid layout; each read from the installed Solara, with the 1.64.1 value as fallback.
find_spec() {  # PATTERN FALLBACK FILE...
  local pattern=$1 fallback=$2
  shift 2
  local found
  found=$(grep -ohE "$pattern" "$@" 2>/dev/null | sort -u | head -1 || true)
  echo "${found:-$fallback}"
}
specs=(
  "$(find_spec '@widgetti/solara-vuetify-app@[0-9][^/]*' '@widgetti/solara-vuetify-app@10.1.1' \
    "$solara_dir/server/templates/solara.html.j2")"
  "$(find_spec 'requirejs@[0-9][^/]*' 'requirejs@2.3.6' "$solara_dir/server/templates/solara.html.j2")"
  "$(find_spec 'font-awesome@[0-9][^/]*' 'font-awesome@4.5.0' "$solara_dir/server/settings.py")"
  "$(find_spec '@widgetti/vue-grid-layout@[0-9][^/]*' '@widgetti/vue-grid-layout@2.3.13-alpha.2' \
    "$solara_dir/widgets/vue/gridlayout.vue")"
)
missing=()
for spec in "${specs[@]}"; do
  [ -f "$cache/$spec/package.json" ] || missing+=("$spec")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup_browser: installing npm (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
  command -v npm >/dev/null 2>&1 || {
    echo "setup_browser: npm is needed once to fetch Solara's front-end files (apt-get install npm)" >&2
    exit 1
  }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  for spec in "${missing[@]}"; do
    echo "setup_browser: fetching $spec from the npm registry"
    tarball=$(cd "$tmp" && npm pack --silent "$spec" | tail -1)
    mkdir -p "$tmp/unpacked"
    tar -xzf "$tmp/$tarball" -C "$tmp/unpacked" --strip-components=1
    mkdir -p "$(dirname "$cache/$spec")"
    rm -rf "$cache/$spec"
    mv "$tmp/unpacked" "$cache/$spec"  # whole folder at once: an interrupted run leaves no half
  done
fi
echo "setup_browser: Solara assets in $cache (${specs[*]})"
