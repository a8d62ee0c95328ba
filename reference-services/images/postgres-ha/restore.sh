#!/bin/sh
# Patroni's custom bootstrap after a region loss: restore the newest base
# backup from the backup region into the empty data directory. pgBackRest
# writes the recovery settings (restore_command, recovery.signal), so
# PostgreSQL then replays every archived WAL segment before it opens.
set -eu
mkdir -p /var/lib/postgresql/data/pgdata
chmod 0700 /var/lib/postgresql/data/pgdata
exec pgbackrest --stanza=faultline --delta --log-level-console=info restore
