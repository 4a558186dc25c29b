#!/usr/bin/env bash
# pki.sh DIR : a throwaway certificate authority and the certificates the local control plane
# and the real node need. Idempotent: issues only what DIR does not hold yet. Test-grade, local
# addresses only.
set -euo pipefail
dir=${1:?usage: pki.sh DIR}
mkdir -p "$dir" && cd "$dir"
quiet() { "$@" 2>/dev/null; }
if [ ! -f ca.crt ]; then
  quiet openssl genrsa -out ca.key 2048
  quiet openssl req -x509 -new -nodes -key ca.key -sha256 -days 3650 -subj "/CN=pynomaly-local-ca" -out ca.crt
fi
if [ ! -f sa.key ]; then
  quiet openssl genrsa -out sa.key 2048
  quiet openssl rsa -in sa.key -pubout -out sa.pub
fi
# The API server is also reached from the real node's pods: through the kubernetes Service
# (10.96.0.1) and at its advertised address (198.51.100.10).
cat > extensions.cnf <<'CNF'
[server]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,IP:198.51.100.10,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
[client]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
[node]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:198.51.100.11,DNS:pynomaly-node
CNF
issue() { # name subject extension-section
  [ -f "$1.crt" ] && return
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
# The real node (scripts/cluster/node.sh): the kubelet's identity (the Node authorizer's form)
# and serving certificate, kube-proxy's and CoreDNS's client identities, and the API server's
# identity towards the kubelet (logs, exec).
issue kubelet "/O=system:nodes/CN=system:node:pynomaly-node" node
issue kube-proxy "/CN=system:kube-proxy" client
issue coredns "/CN=system:coredns" client
issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" client
