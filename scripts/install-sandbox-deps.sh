#!/bin/sh
# Installs on this host what `slipway sandbox` needs, and only what is missing (Debian 12 / Ubuntu):
#   systemd-container (systemd-nspawn), debootstrap (image build), iproute2 (netns, veth),
#   openssh-client (ssh, ssh-keygen), curl.
exec "$(dirname "$0")/install-missing-packages.sh" systemd-container debootstrap iproute2 openssh-client curl
