#!/usr/bin/env bash
# The system packages `make test` needs beyond Python 3.11, pip and git, installed from Debian when missing:
# make (the README's commands), Mono's C# compiler mcs (the test that compiles the agent's C# module_utils) and Chromium
# (the report page's tests open it in real headless Chromium, driven by Playwright from requirements-dev.txt).
# Needs root for apt-get (CI runs as root); without root it names what is missing and how to install it.
set -euo pipefail
missing=()
command -v make >/dev/null 2>&1 || missing+=(make)
command -v mcs >/dev/null 2>&1 || missing+=(mono-mcs)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-packages: missing ${missing[*]}; install them as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
