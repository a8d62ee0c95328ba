#!/bin/sh
# etcd resolves its peers' names once at start-up; containers of one stack
# start together, so wait (at most 30 s) until every peer in
# ETCD_INITIAL_CLUSTER resolves, then become etcd.
set -eu
peers=$(echo "${ETCD_INITIAL_CLUSTER:-}" | tr ',' '\n' | sed -e 's|.*://||' -e 's|:.*||')
for i in $(seq 1 300); do
  missing=""
  for p in $peers; do getent hosts "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  [ -z "$missing" ] && break
  sleep 0.1
done
exec etcd
