# shellcheck shell=bash
# The real node of the local cluster, sourced by scripts/cluster.sh (up --real-node): containerd
# and runc from Debian, the CNI bridge, host-local, loopback and portmap plugins from Debian, and
# kubelet, kube-proxy, CoreDNS and kube-network-policies built from their Go modules
# (scripts/tools.sh node). Pods on it run for real, beside the kwok nodes where nothing runs.
#
#   pynomaly0 (a bridge)      198.51.100.10  the API server's advertised address (the kubernetes
#                                            Service's endpoint), 198.51.100.11 the node's address
#   pyn0 (the CNI bridge)     10.85.0.0/16   pod addresses; the host routes to them
#   Services                  10.96.0.0/16   kube-proxy's iptables rules, from pods and the host
#   cluster DNS               10.96.0.10     the kube-dns Service in front of CoreDNS on the node's
#                                            address, answering cluster.local from the API
#   volumes                   StorageClass pynomaly-local: pre-made local volumes on this node
#                                            (and on each kwok node, for components kept there)
#   NetworkPolicies           kube-network-policies judges every new connection between pods
#                                            (see node_netpol)
#
# Addresses are documentation ranges (TEST-NET-2) and a private range nothing else here uses;
# nothing leaves the machine. Requires root.
NODE_NAME=pynomaly-node
NODE_DIR=$ROOT/node
NODE_RUN=/run/pynomaly-node
API_ADDR=198.51.100.10 NODE_ADDR=198.51.100.11 POD_CIDR=10.85.0.0/16 DNS_IP=10.96.0.10
KUBELET_PORT=22250 KUBELET_HEALTH=22248 PROXY_METRICS=22249 PROXY_HEALTH=22256 DNS_HEALTH=22280
NETPOL_METRICS=22281 NETPOL_QUEUE=100 NETPOL_CHAIN=PYNOMALY-NETPOL
LOCAL_CLASS=pynomaly-local LOCAL_VOLUMES=${LOCAL_VOLUMES:-16} LOCAL_VOLUME_SIZE=${LOCAL_VOLUME_SIZE:-20Gi}
CONTAINERD_SOCK=$NODE_RUN/containerd.sock
# Where the node's image store lives: outside the cluster state, so images imported once survive
# `purge` (scripts/node-images.sh imports only what changed).
NODE_IMAGES=${PYNOMALY_NODE_IMAGES:-$PYNOMALY_TOOLS/../node-images}
PAUSE_IMAGE=pynomaly.local/pause:3.10

real_node_enabled() { [ -f "$ROOT/real-node" ]; }

node_link() {
  ip link show pynomaly0 >/dev/null 2>&1 || ip link add pynomaly0 type bridge
  ip addr replace $API_ADDR/32 dev pynomaly0
  ip addr replace $NODE_ADDR/32 dev pynomaly0
  ip link set pynomaly0 up
  sysctl -qw net.ipv4.ip_forward=1
  modprobe br_netfilter 2>/dev/null || true
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
}

node_configs() {
  mkdir -p "$NODE_DIR/cni" "$NODE_DIR/kubelet" "$NODE_IMAGES/containerd" "$NODE_RUN"
  cat >"$NODE_DIR/containerd.toml" <<TOML
version = 2
root = "$NODE_IMAGES/containerd"
state = "$NODE_RUN/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.opt"]
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This machine kind may not lower a process's OOM score (no CAP_SYS_RESOURCE at that point):
  # scores below the runtime's own are raised to it, as for a rootless runtime.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni"
TOML
  cat >"$NODE_DIR/cni/10-pynomaly.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "pynomaly", "plugins": [
  {"type": "bridge", "bridge": "pyn0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": "$NODE_DIR/cni-ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}},
  {"type": "loopback"}]}
JSON
  # Pods resolve through the cluster DNS only: no search domains or servers of the host.
  echo "nameserver $DNS_IP" >"$NODE_DIR/resolv.conf"
  cat >"$NODE_DIR/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine kind mounts cgroup v1 hierarchies; kubelet 1.35 runs there only when told to.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
address: $NODE_ADDR
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTH
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
# As a cloud node: clients prove themselves with a certificate or a token the API server
# reviews, and the API server decides what each may read (Prometheus scrapes nodes/metrics).
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
clusterDNS: [$DNS_IP]
resolvConf: $NODE_DIR/resolv.conf
podLogsDir: $NODE_DIR/pod-logs
podCIDR: $POD_CIDR
failSwapOn: false
serializeImagePulls: false
# A test node on a shared disk: never evict for the disk the rest of the machine fills, never
# garbage-collect the imported images (they cannot be pulled again).
evictionHard: {memory.available: 100Mi, nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
protectKernelDefaults: false
YAML
  cat >"$NODE_DIR/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $ROOT/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: $NODE_ADDR
metricsBindAddress: 127.0.0.1:$PROXY_METRICS
healthzBindAddress: 127.0.0.1:$PROXY_HEALTH
nodePortAddresses: [$NODE_ADDR/32]
# Leave the host's conntrack sysctls alone: they are the machine's, not the node's.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
  cat >"$NODE_DIR/Corefile" <<COREFILE
.:53 {
    bind $NODE_ADDR
    errors
    health 127.0.0.1:$DNS_HEALTH
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $ROOT/coredns.kubeconfig pynomaly-local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
COREFILE
}

# node_cluster_objects: what the node needs of the API: CoreDNS's read access, the kube-dns
# Service in front of it, and the local volumes with their class.
node_cluster_objects() {
  kc apply -f - >/dev/null <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pynomaly-coredns}
rules:
- apiGroups: [""]
  resources: [services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: pynomaly-coredns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pynomaly-coredns}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:coredns"}]
---
# kube-network-policies reads the policies and the pods and namespaces they select.
apiVersion: v1
kind: ServiceAccount
metadata: {name: pynomaly-network-policies, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pynomaly-network-policies}
rules:
- apiGroups: [""]
  resources: [pods, namespaces]
  verbs: [list, watch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: pynomaly-network-policies}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pynomaly-network-policies}
subjects: [{kind: ServiceAccount, name: pynomaly-network-policies, namespace: kube-system}]
---
# The kubelet reviews its clients' tokens and permissions with the API server.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: pynomaly-node-auth-delegator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:auth-delegator"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:node:$NODE_NAME"}]
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  clusterIP: $DNS_IP
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
---
# No selector: its one endpoint is CoreDNS on the node's address, outside any pod.
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-node
  namespace: kube-system
  labels: {kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: pynomaly-cluster-script}
addressType: IPv4
endpoints: [{addresses: [$NODE_ADDR], conditions: {ready: true}}]
ports:
- {name: dns, port: 53, protocol: UDP}
- {name: dns-tcp, port: 53, protocol: TCP}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: $LOCAL_CLASS}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
YAML
  local i n
  for i in $(seq 0 $((LOCAL_VOLUMES - 1))); do
    mkdir -p "$NODE_DIR/volumes/pv-$i"
    local_volume "$NODE_NAME-pv-$i" $NODE_NAME "$NODE_DIR/volumes/pv-$i"
  done
  # Claims of components kept on kwok nodes (nodeSelectors) bind in the same class: volumes
  # that name a kwok node, where nothing mounts them.
  for n in $(seq 0 $((NODES - 1))); do
    for i in 0 1; do local_volume "kwok-node-$n-pv-$i" "kwok-node-$n" "/nonexistent/kwok-node-$n-pv-$i"; done
  done
}

local_volume() { # name node path
  kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: $1}
spec:
  capacity: {storage: $LOCAL_VOLUME_SIZE}
  accessModes: [ReadWriteOnce, ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: $LOCAL_CLASS
  local: {path: $3}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [$2]}]
YAML
}

node_up() {
  bash "$HERE/tools.sh" node >&2
  local t0=$SECONDS
  touch "$ROOT/real-node"
  node_link
  node_configs
  for u in kubelet kube-proxy coredns; do kubeconfig "$ROOT/$u.kubeconfig" "$u"; done
  node_cluster_objects
  start containerd --config "$NODE_DIR/containerd.toml"
  wait_for containerd 30 ctr --address "$CONTAINERD_SOCK" version
  bash "$HERE/node-images.sh" import "$CONTAINERD_SOCK" >&2
  start coredns -conf "$NODE_DIR/Corefile"
  start kube-proxy --config="$NODE_DIR/kube-proxy.yaml"
  start kubelet --config="$NODE_DIR/kubelet.yaml" --kubeconfig="$ROOT/kubelet.kubeconfig" \
    --root-dir="$NODE_DIR/kubelet" --hostname-override=$NODE_NAME --node-ip=$NODE_ADDR \
    --node-labels=type=real,topology.kubernetes.io/region=local,topology.kubernetes.io/zone=zone-a
  node_netpol
  wait_for coredns 30 curl -fsS "http://127.0.0.1:$DNS_HEALTH/health"
  wait_for kube-proxy 60 curl -fsS "http://127.0.0.1:$PROXY_HEALTH/healthz"
  wait_for kube-network-policies 60 curl -fsS "http://127.0.0.1:$NETPOL_METRICS/metrics"
  wait_for "node $NODE_NAME Ready" 120 kc wait --for=condition=Ready node/$NODE_NAME --timeout=1s
  log "real node up in $((SECONDS - t0))s"
}

# node_netpol: kube-network-policies enforces NetworkPolicies. It judges in userspace each
# connection's first packet, handed to it through an NFQUEUE. Its own nftables rules need the nft
# queue expression, which this machine kind's kernel lacks (CONFIG_NFT_QUEUE): the rules of its
# table are refused, so the queue is fed from iptables' mangle FORWARD instead, which every new
# connection from or to a pod passes (bridged ones too, through br_netfilter), after kube-proxy's
# DNAT (the enforcer sees pod addresses) and before kube-proxy's filter rules, which it leaves to
# run. Traffic to or from the host itself (kubelet probes, the API server and CoreDNS on the
# node's addresses) is not judged. --queue-bypass lets packets
# through while the enforcer is not running, as the project's -fail-open does. It reads only
# in-cluster credentials: it runs with a /run of its own that holds a service account token. At
# -v=2 it logs each verdict with the pods it judged, which the real-node stage reads.
node_netpol() {
  local run=$NODE_DIR/netpol-run
  local sa=$run/secrets/kubernetes.io/serviceaccount
  mkdir -p "$sa"
  cp "$PKI/ca.crt" "$sa/ca.crt"
  kc -n kube-system create token pynomaly-network-policies --duration=24h >"$sa/token"
  echo kube-system >"$sa/namespace"
  cat >"$NODE_DIR/own-run.sh" <<'SH'
# $1 becomes /run, then the rest runs
d=$1; shift
mount --bind "$d" /run && exec "$@"
SH
  KUBERNETES_SERVICE_HOST=$API_ADDR KUBERNETES_SERVICE_PORT=$APISERVER \
    START_WRAPPER="unshare -m --propagation private sh $NODE_DIR/own-run.sh $run" \
    start kube-network-policies -hostname-override=$NODE_NAME -nfqueue-id=$NETPOL_QUEUE \
    -metrics-bind-address=127.0.0.1:$NETPOL_METRICS -netfilter-bug-1766-fix=false -v=2
  iptables -w -t mangle -N $NETPOL_CHAIN 2>/dev/null || iptables -w -t mangle -F $NETPOL_CHAIN
  iptables -w -t mangle -A $NETPOL_CHAIN -m conntrack --ctstate NEW -j NFQUEUE --queue-num $NETPOL_QUEUE --queue-bypass
  iptables -w -t mangle -A FORWARD -s $POD_CIDR -j $NETPOL_CHAIN
  iptables -w -t mangle -A FORWARD -d $POD_CIDR -j $NETPOL_CHAIN
}

node_netpol_down() {
  stop kube-network-policies
  while iptables -w -t mangle -D FORWARD -s $POD_CIDR -j $NETPOL_CHAIN 2>/dev/null; do :; done
  while iptables -w -t mangle -D FORWARD -d $POD_CIDR -j $NETPOL_CHAIN 2>/dev/null; do :; done
  iptables -w -t mangle -F $NETPOL_CHAIN 2>/dev/null || true
  iptables -w -t mangle -X $NETPOL_CHAIN 2>/dev/null || true
}

# node_down: stop the node and take back what it made on the host: every container (killed
# through their cgroups: the kubelet does not stop pods when it exits), the runtime, mounts,
# network namespaces, the bridge, kube-proxy's rules and the dummy link.
node_down() {
  real_node_enabled || return 0
  stop kubelet; stop kube-proxy; stop coredns; node_netpol_down
  local f
  for f in /sys/fs/cgroup/pids/kubepods/cgroup.procs /sys/fs/cgroup/pids/kubepods/*/cgroup.procs \
    /sys/fs/cgroup/pids/kubepods/*/*/cgroup.procs /sys/fs/cgroup/pids/kubepods/*/*/*/cgroup.procs; do
    if [ -f "$f" ]; then xargs -r kill -KILL <"$f" 2>/dev/null || true; fi
  done
  if [ -S "$CONTAINERD_SOCK" ]; then
    local ids
    ids=$(ctr --address "$CONTAINERD_SOCK" -n k8s.io containers list -q 2>/dev/null || true)
    [ -z "$ids" ] || echo "$ids" | xargs -r ctr --address "$CONTAINERD_SOCK" -n k8s.io containers delete >/dev/null 2>&1 || true
  fi
  stop containerd
  pkill -KILL -f "containerd-shim-runc-v2 -namespace k8s.io -id .* -address $CONTAINERD_SOCK" 2>/dev/null || true
  findmnt -rno TARGET | grep -E "^($NODE_DIR|$NODE_RUN|$NODE_IMAGES)/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  ip netns list 2>/dev/null | awk '/^cni-/{print $1}' | xargs -r -n1 ip netns delete 2>/dev/null || true
  ip link delete pyn0 2>/dev/null || true
  "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  ip link delete pynomaly0 2>/dev/null || true
  rm -f "$ROOT/real-node"
  log "real node stopped"
}
