#!/bin/sh
# Base backups into the backup region (pgBackRest's repository, a volume no
# zone fault touches), taken on the Patroni leader only: the first as soon as
# the stanza exists, then every $BACKUP_INTERVAL seconds. pgBackRest turns an
# incremental backup with no full one before it into a full one.
interval="${BACKUP_INTERVAL:-600}"
while true; do
  if curl -sf -o /dev/null http://127.0.0.1:8008/primary \
     && pgbackrest --stanza=faultline --type=incr backup >>/var/log/pgbackrest/loop.log 2>&1; then
    sleep "$interval"
  else
    sleep 3
  fi
done
