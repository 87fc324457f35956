#!/usr/bin/env bash
# Installs Debian's chromium, which `npm run test:browser` and `npm run bench -- --only browser`
# drive headless through puppeteer-core (no browser is downloaded: puppeteer-core never fetches one,
# and npm installs it with PUPPETEER_SKIP_DOWNLOAD set by .ci/run). WebGPU there runs on Chromium's
# SwiftShader CPU adapter, so no GPU is needed. DejaVu is the font the page and its charts ask for
# first (without recommends, chromium brings no font). Safe to run more than once: it exits early
# when both are installed, and apt skips what is installed.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
if [ -x /usr/bin/chromium ] && installed chromium && installed fonts-dejavu-core; then
  echo "install-chromium: chromium already installed ($(dpkg-query -W -f='${Version}' chromium))"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
echo "install-chromium: installed chromium $(dpkg-query -W -f='${Version}' chromium)"
