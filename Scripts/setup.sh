#!/usr/bin/env bash
# Installs the Debian packages Molt builds against (and curl, which the main job talks to
# `molt serve` with), only those missing; safe to run repeatedly.
set -euo pipefail
packages=(zlib1g-dev libzstd-dev libopenblas-dev libssl-dev pkg-config strace curl)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
