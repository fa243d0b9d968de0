#!/bin/sh
# Creates Temporal's two PostgreSQL databases and applies the schemas shipped in the admin-tools image
# (run once by the `temporal-schema` service of infra/docker-compose.yml; idempotent on re-runs).
set -eu
SQL="temporal-sql-tool --plugin postgres12 --ep ${POSTGRES_SEEDS} -u ${POSTGRES_USER} -p ${DB_PORT}"
for db in temporal temporal_visibility; do
  schema=$([ "$db" = temporal ] && echo temporal || echo visibility)
  $SQL --db "$db" create || echo "database $db exists"
  $SQL --db "$db" setup-schema -v 0.0 || echo "schema of $db already set up"
  $SQL --db "$db" update-schema -d "/etc/temporal/schema/postgresql/v12/$schema/versioned"
done
echo "PostgreSQL schema set-up complete"
