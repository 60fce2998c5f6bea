#!/usr/bin/env bash
# Poppler's pdftotext, pdfinfo, pdfimages and pdftoppm: the brief's tests read the PDF back.
# Idempotent: nothing happens when they are already installed.
set -euo pipefail
if command -v pdftotext >/dev/null 2>&1 && command -v pdfimages >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  echo "setup_pdf_tools: installing poppler-utils (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
else
  echo "setup_pdf_tools: pdftotext missing and not root: install poppler-utils; the brief's tests need it" >&2
  exit 1
fi
