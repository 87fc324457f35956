#!/usr/bin/env bash
# Packs .gpu/ for bench/gpu.sh. Like ../shared/gpu/prepare.sh (whose Node binary, Vulkan loader
# .debs and on-device.sh it reuses), but node_modules goes in pruned: tfjs keeps only its Node
# bundles (dist/*.node.js, self-contained) and source maps and TypeScript stay behind, because tfjs's
# ~290 MB (browser bundles, source maps) would not fit the 64 MiB a device call carries.
# Run here, in the project root, after `npm install`. Then on the device (carry [".gpu"]):
#   source .gpu/on-device.sh; bash bench/gpu.sh
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
shared=$(readlink -f "${SHARED_GPU:-$root/../shared/gpu}")
[ -d node_modules/@tensorflow/tfjs-backend-webgpu ] || { echo "npm install first (tfjs is a devDependency)"; exit 1; }
# 1. prepare.sh's Node/loader part, run in an empty git repo so that it packs no node_modules.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$tmp" init -q
mkdir -p .gpu "$tmp/.gpu"
[ -f .gpu/node.xz ] && cp .gpu/node.xz "$tmp/.gpu/"
[ -d .gpu/debs ] && cp -r .gpu/debs "$tmp/.gpu/"
(cd "$tmp" && bash "$shared/prepare.sh" >/dev/null)
cp "$tmp/.gpu/on-device.sh" "$tmp/.gpu/node.xz" .gpu/
mkdir -p .gpu/debs && cp "$tmp"/.gpu/debs/*.deb .gpu/debs/
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
# 2. node_modules, pruned (prepare.sh's platform excludes, plus ours).
{
  find node_modules \( -type f -o -type l \) \
    | grep -vE '\.map$|^node_modules/typescript/|^node_modules/\.cache/|^node_modules/@tensorflow/[^/]+/(dist|src)/' \
    | grep -vE '^node_modules/webgpu/dist/(darwin-|win32-|linux-arm64)|-darwin-|-win32-|linux-arm|-musl'
  ls node_modules/@tensorflow/*/dist/*.node.js
} | tar -c -T - | xz -T2 -3 > .gpu/node_modules.tar.xz
du -sh .gpu/* | sed 's/^/  /'
echo "packed .gpu: $(du -sm .gpu | cut -f1) MiB (with the working tree, keep it under 64 MiB)"
