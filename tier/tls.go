package tier

import (
	"fmt"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"slices"
)

// TLSServer is one server of the platform and every host name its clients use, each relative
// to the namespace: a Service ("pynomaly-postgres-pooler") or a pod behind a headless Service
// ("pynomaly-postgres-0.pynomaly-postgres-headless").
type TLSServer struct {
	Name  string
	Hosts []string
}

// SecretName is the Secret cert-manager writes the server's certificate to.
func (s TLSServer) SecretName() string { return s.Name + "-tls" }

// DNSNames are the names a certificate of the server must cover in namespace ns: each host as
// written, in the namespace, and with the cluster's .svc and .svc.cluster.local suffixes.
func (s TLSServer) DNSNames(ns string) []string {
	var names []string
	for _, h := range s.Hosts {
		names = append(names, h, h+"."+ns, h+"."+ns+".svc", h+"."+ns+".svc.cluster.local")
	}
	return names
}

// StatefulHosts are the Service of a StatefulSet and each of its pods through the headless
// Service.
func StatefulHosts(service, headless, statefulSet string, replicas int) []string {
	hosts := []string{service, headless}
	for i := range replicas {
		hosts = append(hosts, fmt.Sprintf("%s-%d.%s", statefulSet, i, headless))
	}
	return hosts
}

// ServerTLSVolume is a server's certificate, key and CA, readable by its user only.
func ServerTLSVolume(server TLSServer) *corev1.VolumeArgs {
	return &corev1.VolumeArgs{Name: pulumi.String("tls"), Secret: &corev1.SecretVolumeSourceArgs{
		SecretName: pulumi.String(server.SecretName()), DefaultMode: pulumi.Int(0o440),
	}}
}

// CAVolume is the CA bundle alone, for clients.
func CAVolume() *corev1.VolumeArgs {
	return &corev1.VolumeArgs{Name: pulumi.String("internal-ca"), Secret: &corev1.SecretVolumeSourceArgs{
		SecretName: pulumi.String(InternalTrustSecret),
		Items:      corev1.KeyToPathArray{&corev1.KeyToPathArgs{Key: pulumi.String("ca.crt"), Path: pulumi.String("ca.crt")}},
	}}
}

// CAMount mounts CAVolume at CAMountPath.
func CAMount() corev1.VolumeMountInput { return kube.ReadOnlyMount("internal-ca", CAMountPath) }

// ServerTLSMount mounts ServerTLSVolume at ServerTLSMountPath.
func ServerTLSMount() corev1.VolumeMountInput { return kube.ReadOnlyMount("tls", ServerTLSMountPath) }

// TrustInternalCA makes every container of a client pod verify the servers it talks to: the CA
// mounted, and libpq (psql, pg_isready, pg_dump, psycopg) told to check the certificate and the
// host name. Nothing when TLS is off.
func TrustInternalCA(pod *kube.Pod, on bool) {
	MountCA(pod, on)
	if !on {
		return
	}
	for _, list := range [][]kube.Container{pod.InitContainers, pod.Containers} {
		for i := range list {
			list[i].Env = append(list[i].Env, LibpqTLSEnv()...)
		}
	}
}

// MountCA mounts the CA bundle at CAMountPath in every container of a pod.
func MountCA(pod *kube.Pod, on bool) {
	if !on {
		return
	}
	pod.Volumes = append(pod.Volumes, CAVolume())
	for _, list := range [][]kube.Container{pod.InitContainers, pod.Containers} {
		for i := range list {
			list[i].Mounts = append(list[i].Mounts, CAMount())
		}
	}
}

// LibpqTLSEnv is verify-full against the internal CA, for every libpq client.
func LibpqTLSEnv() corev1.EnvVarArray {
	return corev1.EnvVarArray{kube.Env("PGSSLMODE", "verify-full"), kube.Env("PGSSLROOTCERT", CAFile)}
}

// ServeTLS gives a server pod its certificate, mounted into the named containers.
func ServeTLS(pod *kube.Pod, server TLSServer, on bool, containers ...string) {
	if !on {
		return
	}
	pod.Volumes = append(pod.Volumes, ServerTLSVolume(server))
	for i := range pod.Containers {
		if slices.Contains(containers, pod.Containers[i].Name) {
			pod.Containers[i].Mounts = append(pod.Containers[i].Mounts, ServerTLSMount())
		}
	}
	for i := range pod.InitContainers {
		if slices.Contains(containers, pod.InitContainers[i].Name) {
			pod.InitContainers[i].Mounts = append(pod.InitContainers[i].Mounts, ServerTLSMount())
		}
	}
}

const (
	// InternalTrustSecret holds ca.crt, the CA every client verifies servers against: the
	// Secret of a certificate of no server, so a client mounts no server's key, and so the bundle
	// is there whichever issuer signs.
	InternalTrustSecret = "pynomaly-internal-trust"
	// CAMountPath is where clients find ca.crt; ServerTLSMountPath is where a server finds its
	// tls.crt, tls.key and ca.crt.
	CAMountPath        = "/etc/pynomaly/ca"
	CAFile             = CAMountPath + "/ca.crt"
	ServerTLSMountPath = "/etc/pynomaly/tls"
)
