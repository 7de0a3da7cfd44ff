#!/usr/bin/env bash
# Make sure headless Chromium is on PATH for tests/test_report_browser.py (`make test` runs
# this first). Nothing to do when `chromium` is there; as root with apt-get (CI, the project's
# machines) it installs Debian's `chromium` package; otherwise it stops and says how.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure_chromium: installing Debian's chromium package for the browser test ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  command -v chromium >/dev/null 2>&1 && exit 0
  echo "ensure_chromium: apt-get installed chromium but it is not on PATH" >&2
  exit 1
fi
echo "ensure_chromium: the browser test needs Chromium on PATH as \`chromium\`; install it" \
     "(Debian/Ubuntu: sudo apt-get install chromium) and run make test again" >&2
exit 1
