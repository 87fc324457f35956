#!/usr/bin/env bash
# Installs Mesa's lavapipe (a CPU Vulkan driver) from bookworm-backports, so that Dawn
# (the `webgpu` npm package) finds a WebGPU adapter on a machine without a GPU.
# Bookworm's own Mesa 22 is too old for Dawn; Mesa 25 from backports works.
# Safe to run more than once: it rewrites the same sources entry and apt skips what is installed.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi

if ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 \
   && ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 \
   && dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -qv '^22\.'; then
  echo "install-vulkan-driver: lavapipe already installed ($(dpkg-query -W -f='${Version}' mesa-vulkan-drivers))"
  exit 0
fi

src=/etc/apt/sources.list.d/debian.sources
if [ ! -f "$src" ]; then
  echo "install-vulkan-driver: $src not found; add a bookworm-backports entry by hand" >&2
  exit 1
fi

# Copy URIs and Signed-By from the first stanza of the machine's Debian entry, so that no
# registry host name is written into this repository.
uris=$(awk '/^URIs:/{print $2; exit}' "$src")
signed=$(awk '/^Signed-By:/{print $2; exit}' "$src")
if [ -z "$uris" ]; then
  echo "install-vulkan-driver: no URIs line in $src" >&2
  exit 1
fi

entry="Types: deb
URIs: $uris
Suites: bookworm-backports
Components: main"
[ -n "$signed" ] && entry="$entry
Signed-By: $signed"
echo "$entry" | $SUDO tee /etc/apt/sources.list.d/rankfold-backports.sources >/dev/null

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers libvulkan1
echo "install-vulkan-driver: installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
