#!/usr/bin/env bash
# Installs everything symbackprop, its examples and its tests need on a fresh Debian machine:
# system packages (Graphviz's dot, a LaTeX engine with Cyrillic support, headless Chromium)
# and the package itself with its test extra plus PyTorch (the tests' reference, CPU build).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
need=()
for package in graphviz texlive-latex-base texlive-latex-recommended texlive-fonts-recommended \
               texlive-lang-cyrillic cm-super-minimal chromium chromium-driver; do
  dpkg -s "$package" >/dev/null 2>&1 || need+=("$package")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} (apt-get)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check -e ".[test,serve]" "torch==2.13.0"
