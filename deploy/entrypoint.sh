#!/bin/sh
# Container entrypoint: wait for the database, apply migrations when asked to, then serve.
#
#   PROCDASH_BIN       the binary (default: procdash on PATH)
#   PROCDASH_MIGRATE   1 (default) runs `procdash migrate` before serving; set 0 on every
#                      instance but one when several start together (or migrate as a deploy step)
#   PROCDASH_WAIT_SECONDS  how long to wait for the database to accept the migration (default 60)
#
# Any arguments replace `serve --no-migrate`, e.g. `entrypoint.sh config`.
set -eu

bin="${PROCDASH_BIN:-procdash}"
wait_seconds="${PROCDASH_WAIT_SECONDS:-60}"

if [ "$#" -gt 0 ]; then
  exec "$bin" "$@"
fi

if [ "${PROCDASH_MIGRATE:-1}" = "1" ]; then
  # The database may still be starting (compose, Kubernetes): retry the migration until it
  # answers or the wait is over. Migrations are idempotent.
  deadline=$(( $(date +%s) + wait_seconds ))
  until "$bin" migrate; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "entrypoint: the database did not accept the migration within ${wait_seconds} s" >&2
      exit 1
    fi
    sleep 2
  done
fi

exec "$bin" serve --no-migrate
