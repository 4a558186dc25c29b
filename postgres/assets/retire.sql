\getenv old_login OLD_LOGIN
ALTER ROLE :"old_login" PASSWORD NULL;
SELECT count(pg_terminate_backend(pid)) AS ended FROM pg_stat_activity WHERE usename = :'old_login';
