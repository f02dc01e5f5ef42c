#!/bin/sh
# Installs what `make test` needs on a fresh Debian 12 machine, and only what is missing:
#   openssh-server (integration tests start their own sshd on 127.0.0.1), openssh-client, git, curl,
#   util-linux (flock), sudo, and chromium (the dashboard's browser tests drive Debian's Chromium with
#   playwright-core, which downloads no browser of its own).
exec "$(dirname "$0")/install-missing-packages.sh" openssh-server openssh-client git curl util-linux sudo chromium
