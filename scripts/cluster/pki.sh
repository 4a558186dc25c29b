#!/usr/bin/env bash
# pki.sh DIR : a throwaway certificate authority and the certificates the local control plane
# needs. Idempotent: does nothing when DIR already holds them. Test-grade, loopback only.
set -euo pipefail
dir=${1:?usage: pki.sh DIR}
mkdir -p "$dir" && cd "$dir"
[ -f ca.crt ] && [ -f sa.key ] && [ -f admin.crt ] && exit 0
quiet() { "$@" 2>/dev/null; }
quiet openssl genrsa -out ca.key 2048
quiet openssl req -x509 -new -nodes -key ca.key -sha256 -days 3650 -subj "/CN=pynomaly-local-ca" -out ca.crt
quiet openssl genrsa -out sa.key 2048
quiet openssl rsa -in sa.key -pubout -out sa.pub
cat > extensions.cnf <<'CNF'
[server]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
[client]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
CNF
issue() { # name subject extension-section
  quiet openssl genrsa -out "$1.key" 2048
  quiet openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  quiet openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
    -extfile extensions.cnf -extensions "$3" -out "$1.crt"
  rm -f "$1.csr"
}
issue apiserver "/CN=kube-apiserver" server
issue admin "/O=system:masters/CN=pynomaly-admin" client
issue controller-manager "/CN=system:kube-controller-manager" client
issue scheduler "/CN=system:kube-scheduler" client
issue kwok "/O=system:masters/CN=kwok" client
