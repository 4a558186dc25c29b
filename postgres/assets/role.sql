\getenv app_owner APP_OWNER
\getenv app_user APP_USER
\getenv app_verifier APP_PASSWORD_VERIFIER
\getenv db APP_DATABASE
\getenv monitor_user MONITOR_USER
\getenv monitor_verifier MONITOR_PASSWORD_VERIFIER
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = 'panic';
SET pg_stat_statements.track_utility = off;
SET pgaudit.log = 'none';
SELECT format('CREATE ROLE %I LOGIN', :'app_owner') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_owner')\gexec
SELECT format('CREATE ROLE %I LOGIN IN ROLE %I', :'app_user', :'app_owner') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user')\gexec
SELECT format('ALTER ROLE %I SET role = %L', :'app_user', :'app_owner') WHERE :'app_user' <> :'app_owner'\gexec
ALTER ROLE :"app_user" WITH LOGIN PASSWORD :'app_verifier';
SELECT format('CREATE ROLE %I LOGIN IN ROLE pg_monitor', :'monitor_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'monitor_user')\gexec
ALTER ROLE :"monitor_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'monitor_verifier';
RESET ALL;
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'app_owner') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
