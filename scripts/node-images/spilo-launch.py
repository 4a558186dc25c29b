#!/usr/bin/python3
"""The test image's entrypoint for the postgres container: Spilo's environment, read as Spilo's
configure_spilo.py reads it, turned into a configuration for Debian's Patroni, which then runs.

Spilo itself cannot be built here (its build installs from the Python package index). The
program configures Spilo through environment variables (postgres/statefulset.go:
SCOPE, PGROOT, the KUBERNETES_* and PG* variables, SPILO_CONFIGURATION, SSL_*); this launcher
honours the subset the program sets, with Spilo's defaults for the rest: the same data directory,
DCS objects, labels, users, pg_hba and TLS behaviour. What it does not do is Spilo's WAL-G
archiving and clone methods (the real node runs without walArchive).
"""
import json
import os
import subprocess
import sys

import yaml

env = os.environ
PGROOT = env.get("PGROOT", "/home/postgres/pgdata/pgroot")
RUN = "/var/lib/spilo"  # the image makes it the postgres user's
CERTS = RUN + "/certs"
SOCKETS = RUN + "/sockets"  # Spilo's /var/run/postgresql: mmdebstrap leaves /run empty


def tls_files():
    """The server's certificate: the mounted one, else a self-signed one, as Spilo makes."""
    if env.get("SSL_CERTIFICATE_FILE"):
        return env["SSL_CERTIFICATE_FILE"], env["SSL_PRIVATE_KEY_FILE"], env.get("SSL_CA_FILE")
    os.makedirs(CERTS, exist_ok=True)
    crt, key = CERTS + "/server.crt", CERTS + "/server.key"
    if not os.path.exists(crt):
        subprocess.run(["openssl", "req", "-nodes", "-new", "-x509", "-subj", "/CN=spilo.example.org",
                        "-keyout", key, "-out", crt], check=True, capture_output=True)
        os.chmod(key, 0o600)
    return crt, key, None


def default_hba():
    """Spilo's pg_hba without its PAM lines: password logins, TLS only from other hosts."""
    hba = ["local all all trust", "host all all 127.0.0.1/32 md5", "host all all ::1/128 md5",
           "local replication " + env.get("PGUSER_STANDBY", "standby") + " trust",
           "hostssl replication " + env.get("PGUSER_STANDBY", "standby") + " all md5"]
    if env.get("ALLOW_NOSSL", "").lower() != "true":
        hba.append("hostnossl all all all reject")
    return hba + ["hostssl all all all md5"]


def patroni_config():
    spilo = json.loads(env.get("SPILO_CONFIGURATION") or "{}")
    pg = spilo.get("postgresql", {})
    crt, key, ca = tls_files()
    params = {"unix_socket_directories": SOCKETS, "ssl": "on", "ssl_cert_file": crt, "ssl_key_file": key,
              "listen_addresses": "*", "port": 5432}
    if ca:
        params["ssl_ca_file"] = ca
    params.update(pg.get("parameters", {}))
    auth = {"superuser": {"username": env.get("PGUSER_SUPERUSER", "postgres"), "password": env["PGPASSWORD_SUPERUSER"]},
            "replication": {"username": env.get("PGUSER_STANDBY", "standby"), "password": env["PGPASSWORD_STANDBY"]}}
    for role, extra in pg.get("authentication", {}).items():
        auth.setdefault(role, {}).update(extra)
    ip, name = env["POD_IP"], env.get("HOSTNAME") or os.uname().nodename
    dcs = spilo.get("bootstrap", {}).get("dcs", {})
    return {
        "scope": env["SCOPE"], "name": name,
        "restapi": {"listen": "0.0.0.0:8008", "connect_address": ip + ":8008"},
        "kubernetes": {"namespace": env["POD_NAMESPACE"], "pod_ip": ip, "ports": [{"name": "postgresql", "port": 5432}],
                       "labels": json.loads(env.get("KUBERNETES_LABELS") or "{}"),
                       "scope_label": env.get("KUBERNETES_SCOPE_LABEL", "cluster-name"),
                       "role_label": env.get("KUBERNETES_ROLE_LABEL", "spilo-role"),
                       "use_endpoints": env.get("KUBERNETES_USE_CONFIGMAPS", "").lower() != "true",
                       "bypass_api_service": env.get("KUBERNETES_BYPASS_API_SERVICE", "").lower() == "true"},
        "bootstrap": {"dcs": dcs, "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, "data-checksums"]},
        "postgresql": {"listen": "*:5432", "connect_address": ip + ":5432", "data_dir": PGROOT + "/data",
                       "pgpass": RUN + "/pgpass", "authentication": auth, "parameters": params,
                       "pg_hba": pg.get("pg_hba") or default_hba(),
                       "use_unix_socket": True, "use_unix_socket_repl": False,
                       # A new replica copies its leader without waiting for the next checkpoint,
                       # as Spilo's basebackup method does.
                       "basebackup": [{"checkpoint": "fast"}]},
    }


def main():
    os.makedirs(PGROOT, exist_ok=True)
    path = RUN + "/postgres.yml"
    with open(path, "w") as f:
        yaml.safe_dump(patroni_config(), f)
    os.execvp("patroni", ["patroni", path])


if __name__ == "__main__":
    sys.exit(main())
