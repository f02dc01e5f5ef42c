#!/bin/sh
# `make demo`: boot the sandbox server demo1, deploy examples/django-app to it with slipway (venv, PostgreSQL
# database, migrations, static files, systemd unit, health check), show it answering.
# `make demo APP=node`: examples/node-app instead, on the sandbox server demo-node (npm ci and the build on this
# machine, node_modules uploaded, PostgreSQL, Redis and its worker on the server).
# Run as root after `make sandbox-image`. Safe to run again: the server is reused and a new release is deployed.
# The server stays up afterwards; `sudo node bin/slipway.js sandbox down demo1` (or demo-node) stops it.
set -eu
app=${APP:-django}
case "$app" in
  django) example=django-app server=demo1 health_path=health/ healthy=ok ;;
  node) example=node-app server=demo-node health_path=health healthy='"status":"ok"' ;;
  *) echo "error: APP=$app: the demo deploys APP=django (the default) or APP=node" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
slipway() { node bin/slipway.js "$@"; }
step() { printf '\n==> %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "error: the demo boots a sandbox server: run it as root (sudo make demo)" >&2; exit 1; }
[ -f dist/cli/bundle.mjs ] || npm run build

step "Booting sandbox server $server"
slipway sandbox up "$server"
address=$(slipway sandbox list --json | SERVER="$server" node -e '
  const servers = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const demo = servers.find((s) => s.name === process.env.SERVER && s.status === "running");
  if (!demo) process.exit(1);
  console.log(demo.address);')

# slipway deploys commits, not directories: the example becomes a git repository of its own.
step "Preparing the example app as a git repository"
repo=$(mktemp -d /tmp/slipway-demo.XXXXXX)
cp -R "examples/$example/." "$repo/"
date -u +%Y%m%dT%H%M%SZ > "$repo/VERSION"
printf '.slipway/\nnode_modules/\npublic/\n' > "$repo/.gitignore"
sed -i "s/sandbox: demo1$/sandbox: $server/" "$repo/deploy-sandbox.yml"
git -C "$repo" init --quiet --initial-branch=main
git -C "$repo" add -A
git -C "$repo" -c user.name="slipway demo" -c user.email=demo@localhost commit --quiet -m "$example $(cat "$repo/VERSION")"
echo "$repo ($(git -C "$repo" rev-parse --short HEAD))"

# deploy.yml writes the secrets as ${DB_PASSWORD} (and Django's ${DJANGO_SECRET_KEY}): their values live in the
# untracked .slipway/secrets-sandbox.env (or the environment), never in a file in git.
random() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
mkdir -p "$repo/.slipway"
if [ "$app" = django ]; then
  printf 'DB_PASSWORD=%s\nDJANGO_SECRET_KEY=%s\n' "$(random 12)" "$(random 32)" > "$repo/.slipway/secrets-sandbox.env"
else
  printf 'DB_PASSWORD=%s\n' "$(random 12)" > "$repo/.slipway/secrets-sandbox.env"
fi
chmod 600 "$repo/.slipway/secrets-sandbox.env"

step "slipway deploy sandbox"
slipway -c "$repo" deploy sandbox

step "On the server: curl -s http://127.0.0.1/ (nginx, then the live slot)"
slipway sandbox ssh "$server" -- curl -sS --max-time 5 http://127.0.0.1/

url="http://$address/"
step "From this machine, through nginx: curl -s $url"
curl -sS --max-time 5 "$url"
health=$(curl -sS --max-time 5 "${url}${health_path}")
case "$health" in *"$healthy"*) ;; *) echo "error: ${url}${health_path} answered '$health', expected '$healthy'" >&2; exit 1 ;; esac

cat <<DONE

The example app is live.
  URL:     $url
  health:  ${url}${health_path} answers: $health (it queries PostgreSQL)
  repo:    $repo  (change VERSION, commit, then: sudo node bin/slipway.js -c $repo deploy sandbox)
  also:    sudo node bin/slipway.js -c $repo releases sandbox   (or history, rollback)
  web:     sudo node bin/slipway.js -c $repo dashboard   (open the link it prints; Ctrl-C stops it)
  stop:    sudo node bin/slipway.js sandbox down $server
DONE
