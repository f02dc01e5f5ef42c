#!/bin/sh
# Installs on this host what `slipway sandbox` needs, and only what is missing (Debian 12 / Ubuntu):
#   systemd-container (systemd-nspawn), debootstrap (image build), iproute2 (netns, veth),
#   openssh-client (ssh, ssh-keygen), curl.
set -eu

packages="systemd-container debootstrap iproute2 openssh-client curl"
missing=""
for package in $packages; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q '^install ok installed$'; then
    missing="$missing $package"
  fi
done

if [ -z "$missing" ]; then
  echo "sandbox dependencies are installed ($packages)"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
echo "installing sandbox dependencies:$missing"
$sudo apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is intended
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
