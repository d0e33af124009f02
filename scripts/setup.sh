#!/usr/bin/env bash
# Installs everything symbackprop, its examples and its tests need on a fresh Debian machine:
# the system packages (Graphviz's dot, a LaTeX engine with Cyrillic support, headless Chromium),
# then a virtual environment in the project (.venv) holding the package with its test extra and
# PyTorch (the tests' reference, CPU build). Afterwards run things with .venv/bin/python, or
# `source .venv/bin/activate` first. Running it again installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# What to install: add a package to one of these lists, nothing else needs to change.
APT_PACKAGES=(graphviz texlive-latex-base texlive-latex-recommended texlive-fonts-recommended
              texlive-lang-cyrillic cm-super-minimal chromium chromium-driver)
PIP_PACKAGES=(-e ".[test,serve,jax,bench]" "torch==2.13.0")
VENV=.venv

step=0
say() { step=$((step + 1)); echo "setup [$step/4] $*"; }
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
apt_install() { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null; }

say "checking the system packages: ${APT_PACKAGES[*]}"
missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get update, then install ${missing[*]} (TeX Live takes a few minutes)"
  $SUDO apt-get update -qq
  echo "setup       apt-get install ${missing[*]}"
  apt_install "${missing[@]}"
else
  say "apt-get: nothing to install"
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating the virtual environment $VENV"
  python3 -m venv "$VENV"
else
  say "virtual environment $VENV: present"
fi

say "pip install ${PIP_PACKAGES[*]} into $VENV (PyTorch is large: a few minutes on a fresh machine)"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"
echo "setup: done. Run with $VENV/bin/python, e.g. $VENV/bin/python examples/lecture.py"
