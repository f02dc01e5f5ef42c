#!/bin/sh
# Installs what `make test` needs on a fresh Debian 12 machine, and only what is missing:
#   openssh-server (integration tests start their own sshd on 127.0.0.1), openssh-client, git, curl,
#   util-linux (flock), sudo.
set -eu
packages="openssh-server openssh-client git curl util-linux sudo"
missing=""
for package in $packages; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q '^install ok installed$'; then
    missing="$missing $package"
  fi
done
if [ -z "$missing" ]; then
  echo "test dependencies are installed ($packages)"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
echo "installing test dependencies:$missing"
$sudo apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is intended
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
