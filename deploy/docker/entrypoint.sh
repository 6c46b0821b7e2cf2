#!/bin/sh
# Runs one Dripline workload, the same command the local stack runs for it.
#   ingest | scheduler | sender | tracker   one service:  python -m services.<name>
#   migrate                                 apply database migrations, then exit
#   create-topics                           create the contract's topics (Kafka without Strimzi)
#   wait-for-schema                         block until migrations are applied (init container)
# Anything else runs as a command, e.g. `dripline --help`.
set -eu

command="${1:-}"
[ "$#" -gt 0 ] && shift

case "$command" in
  ingest|scheduler|sender|tracker)
    exec python -m "services.$command" "$@" ;;
  migrate)
    exec dripline migrate "$@" ;;
  create-topics)
    exec dripline create-topics "$@" ;;
  wait-for-schema)
    exec python /opt/dripline/wait_for_schema.py "$@" ;;
  "")
    echo "usage: ingest|scheduler|sender|tracker|migrate|create-topics|wait-for-schema" >&2
    exit 64 ;;
  *)
    exec "$command" "$@" ;;
esac
