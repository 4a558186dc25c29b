# shellcheck shell=sh
until pg_isready -q -h "$DATABASE_HOST" -p "$DATABASE_PORT" -U "$DATABASE_USER"; do echo "waiting for $DATABASE_HOST"; sleep 2; done
