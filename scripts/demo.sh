#!/bin/sh
# `make demo`: boot the sandbox server demo1, deploy examples/django-app to it with slipway (venv, PostgreSQL
# database, migrations, static files, systemd unit, health check), show it answering.
# Run as root after `make sandbox-image`. Safe to run again: demo1 is reused and a new release is deployed.
# The server stays up afterwards; `sudo node bin/slipway.js sandbox down demo1` stops it.
set -eu
cd "$(dirname "$0")/.."
slipway() { node bin/slipway.js "$@"; }
step() { printf '\n==> %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "error: the demo boots a sandbox server: run it as root (sudo make demo)" >&2; exit 1; }
[ -f dist/cli/bundle.mjs ] || npm run build

step "Booting sandbox server demo1"
slipway sandbox up demo1
address=$(slipway sandbox list --json | node -e '
  const servers = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const demo = servers.find((s) => s.name === "demo1" && s.status === "running");
  if (!demo) process.exit(1);
  console.log(demo.address);')

# slipway deploys commits, not directories: the example becomes a git repository of its own.
step "Preparing the example app as a git repository"
repo=$(mktemp -d /tmp/slipway-demo.XXXXXX)
cp -R examples/django-app/. "$repo/"
date -u +%Y%m%dT%H%M%SZ > "$repo/VERSION"
printf '.slipway/\n' > "$repo/.gitignore"
git -C "$repo" init --quiet --initial-branch=main
git -C "$repo" add -A
git -C "$repo" -c user.name="slipway demo" -c user.email=demo@localhost commit --quiet -m "django-app $(cat "$repo/VERSION")"
echo "$repo ($(git -C "$repo" rev-parse --short HEAD))"

# deploy.yml writes the secrets as ${DB_PASSWORD} and ${DJANGO_SECRET_KEY}: their values live in the untracked
# .slipway/secrets-sandbox.env (or the environment), never in a file in git.
random() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
mkdir -p "$repo/.slipway"
printf 'DB_PASSWORD=%s\nDJANGO_SECRET_KEY=%s\n' "$(random 12)" "$(random 32)" > "$repo/.slipway/secrets-sandbox.env"
chmod 600 "$repo/.slipway/secrets-sandbox.env"

step "slipway deploy sandbox"
slipway -c "$repo" deploy sandbox

step "On the server: curl -s http://127.0.0.1/ (nginx, then the live slot)"
slipway sandbox ssh demo1 -- curl -sS --max-time 5 http://127.0.0.1/

url="http://$address/"
step "From this machine, through nginx: curl -s $url"
curl -sS --max-time 5 "$url"
health=$(curl -sS --max-time 5 "${url}health/")
[ "$health" = ok ] || { echo "error: ${url}health/ answered '$health', expected 'ok'" >&2; exit 1; }

cat <<DONE

The example app is live.
  URL:     $url
  health:  ${url}health/ answers: $health (it queries PostgreSQL)
  repo:    $repo  (change VERSION, commit, then: sudo node bin/slipway.js -c $repo deploy sandbox)
  also:    sudo node bin/slipway.js -c $repo releases sandbox   (or history, rollback)
  stop:    sudo node bin/slipway.js sandbox down demo1
DONE
