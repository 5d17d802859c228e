#!/usr/bin/env bash
# Install Debian's headless-capable chromium for the report's browser test
# (tests/test_report.py) and scripts/screenshot_report.py. Idempotent and quiet:
# does nothing when /usr/bin/chromium already runs.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && chromium --version >/dev/null 2>&1; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# Fonts so text renders in screenshots; chromium pulls its own libraries.
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
chromium --version
