package components

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// Names of the internal CA. The root is self-signed by a namespaced Issuer; the CA Issuer signs
// every server's certificate with it.
const (
	internalRootIssuer = "pynomaly-internal-root"
	internalCAName     = "pynomaly-internal-ca"
	// InternalTrustSecret holds ca.crt, the CA every client verifies servers against: the
	// Secret of a certificate of no server, so a client mounts no server's key, and so the bundle
	// is there whichever issuer signs.
	InternalTrustSecret = "pynomaly-internal-trust"
	// CAMountPath is where clients find ca.crt; ServerTLSMountPath is where a server finds its
	// tls.crt, tls.key and ca.crt.
	CAMountPath        = "/etc/pynomaly/ca"
	CAFile             = CAMountPath + "/ca.crt"
	ServerTLSMountPath = "/etc/pynomaly/tls"
	// Server certificates last 90 days and are renewed 30 days before they expire.
	serverCertDuration    = "2160h"
	serverCertRenewBefore = "720h"
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

// statefulHosts are the Service of a StatefulSet and each of its pods through the headless
// Service.
func statefulHosts(service, headless, statefulSet string, replicas int) []string {
	hosts := []string{service, headless}
	for i := range replicas {
		hosts = append(hosts, fmt.Sprintf("%s-%d.%s", statefulSet, i, headless))
	}
	return hosts
}

// InternalTLSArgs configures the internal CA and the servers' certificates.
type InternalTLSArgs struct {
	Namespace pulumi.StringInput
	Settings  config.InternalTLS
	Servers   []TLSServer
}

// InternalTLS is the internal CA (or the issuer the settings name) and a cert-manager
// Certificate per server. Off, it declares nothing and every connection stays plain.
type InternalTLS struct {
	pulumi.ResourceState
	outputs
	On bool
	// Certificates are what the servers' pods wait for.
	Certificates []pulumi.Resource
}

// NewInternalTLS creates the CA, its Issuer and a Certificate per server.
func NewInternalTLS(ctx *pulumi.Context, name string, args *InternalTLSArgs, opts ...pulumi.ResourceOption) (*InternalTLS, error) {
	c := &InternalTLS{On: args.Settings.Internal}
	if err := ctx.RegisterComponentResource(componentType("InternalTLS"), name, c, opts...); err != nil {
		return nil, err
	}
	if !c.On {
		c.keep(pulumi.Map{})
		return c, nil
	}
	issuer, after, err := c.issuer(ctx, args)
	if err != nil {
		return nil, err
	}
	for _, s := range args.Servers {
		spec := args.Namespace.ToStringOutput().ApplyT(func(ns string) map[string]any {
			return certificateSpec(s, ns, issuer)
		})
		if err := c.certificate(ctx, args.Namespace, s.SecretName(), spec, after); err != nil {
			return nil, err
		}
	}
	// A certificate of no host, only for its ca.crt.
	if err := c.certificate(ctx, args.Namespace, InternalTrustSecret, pulumi.ToOutput(map[string]any{
		"secretName": InternalTrustSecret, "commonName": InternalTrustSecret,
		"duration": serverCertDuration, "renewBefore": serverCertRenewBefore, "usages": []any{"client auth"},
		"privateKey": map[string]any{"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}, "issuerRef": issuer,
	}), after); err != nil {
		return nil, err
	}
	c.keep(pulumi.Map{})
	return c, nil
}

func (c *InternalTLS) certificate(ctx *pulumi.Context, ns pulumi.StringInput, name string, spec pulumi.Output, after []pulumi.Resource) error {
	cert, err := c.resource(ctx, ns, "Certificate", name, spec, kube.After(after))
	if err == nil {
		c.Certificates = append(c.Certificates, cert)
	}
	return err
}

// issuer is the issuerRef of the servers' certificates: the one the settings name, or the
// program's CA: a self-signed Issuer signs a CA Certificate whose Secret a CA Issuer signs with.
func (c *InternalTLS) issuer(ctx *pulumi.Context, args *InternalTLSArgs) (map[string]any, []pulumi.Resource, error) {
	if is := args.Settings.Issuer; is.Name != "" {
		return map[string]any{"group": "cert-manager.io", "kind": is.Kind, "name": is.Name}, nil, nil
	}
	root, err := c.resource(ctx, args.Namespace, "Issuer", internalRootIssuer, pulumi.ToOutput(map[string]any{"selfSigned": map[string]any{}}))
	if err != nil {
		return nil, nil, err
	}
	ca, err := c.resource(ctx, args.Namespace, "Certificate", internalCAName, pulumi.ToOutput(map[string]any{
		"isCA": true, "commonName": "Pynomaly internal CA", "secretName": internalCAName,
		// Ten years, renewed one before: servers' certificates are what rotate often.
		"duration": "87600h", "renewBefore": "8760h",
		"privateKey": map[string]any{"algorithm": "ECDSA", "size": 256},
		"issuerRef":  map[string]any{"group": "cert-manager.io", "kind": "Issuer", "name": internalRootIssuer},
	}), kube.After([]pulumi.Resource{root}))
	if err != nil {
		return nil, nil, err
	}
	issuer, err := c.resource(ctx, args.Namespace, "Issuer", internalCAName, pulumi.ToOutput(map[string]any{
		"ca": map[string]any{"secretName": internalCAName},
	}), kube.After([]pulumi.Resource{ca}))
	if err != nil {
		return nil, nil, err
	}
	return map[string]any{"group": "cert-manager.io", "kind": "Issuer", "name": internalCAName}, []pulumi.Resource{issuer}, nil
}

// certificateSpec is a server's certificate: every name its clients use, for server and client
// authentication (PostgreSQL replicas and Redis replicas are clients of their primary too).
func certificateSpec(s TLSServer, ns string, issuer map[string]any) map[string]any {
	names := make([]any, 0)
	for _, n := range s.DNSNames(ns) {
		names = append(names, n)
	}
	return map[string]any{
		"secretName": s.SecretName(), "commonName": s.Hosts[0], "dnsNames": names,
		"duration": serverCertDuration, "renewBefore": serverCertRenewBefore,
		"usages": []any{"server auth", "client auth", "digital signature", "key encipherment"},
		// A new key at every renewal; PKCS#8 for every server's parser.
		"privateKey": map[string]any{"algorithm": "ECDSA", "size": 256, "encoding": "PKCS8", "rotationPolicy": "Always"},
		"issuerRef":  issuer,
	}
}

func (c *InternalTLS) resource(ctx *pulumi.Context, ns pulumi.StringInput, kind, name string, spec pulumi.Output, opts ...pulumi.ResourceOption) (pulumi.Resource, error) {
	r, err := apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(certManagerAPIVersion),
		Kind:        pulumi.String(kind),
		Metadata:    kube.ObjectMeta(ctx, ns, name, "tls"),
		OtherFields: kubernetes.UntypedArgs{"spec": spec},
	}, append([]pulumi.ResourceOption{pulumi.Parent(c)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("internal tls: %s %s: %w", kind, name, err)
	}
	return r, nil
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

// The servers of the platform and the hosts their clients use, from the names the tiers
// declare their Services and StatefulSets under.
func PostgresTLS(replicas int) TLSServer {
	return TLSServer{Name: PostgresName, Hosts: append(
		statefulHosts(PostgresServiceName, PostgresHeadlessService, PostgresName, replicas), PostgresReplicaService)}
}

// PoolerTLS is PgBouncer's Service.
func PoolerTLS() TLSServer {
	return TLSServer{Name: PostgresPoolerName, Hosts: []string{PostgresPoolerName}}
}

// RedisTLS is one Redis role's Services and pods; Sentinel, in the same pods, shares them.
func RedisTLS(role RedisRole, replicas int) TLSServer {
	r := redisInstance{role: role, name: map[RedisRole]string{RedisQueue: RedisQueueService, RedisCache: RedisCacheService}[role]}
	return TLSServer{Name: r.name, Hosts: statefulHosts(r.name, r.headless(), r.name, replicas)}
}

// InfluxDBTLS is InfluxDB's Services and pods.
func InfluxDBTLS(replicas int) TLSServer {
	return TLSServer{Name: InfluxDBServiceName, Hosts: statefulHosts(InfluxDBServiceName, InfluxDBHeadlessService, InfluxDBServiceName, replicas)}
}

// TLSServers are every server of a stack with settings s.
func TLSServers(s *config.Settings) []TLSServer {
	return []TLSServer{
		PostgresTLS(s.Postgres.Replicas), PoolerTLS(),
		RedisTLS(RedisQueue, s.RedisQueue.Replicas), RedisTLS(RedisCache, s.RedisCache.Replicas),
		InfluxDBTLS(s.InfluxDB.Replicas),
	}
}

// trustInternalCA makes every container of a client pod verify the servers it talks to: the CA
// mounted, and libpq (psql, pg_isready, pg_dump, psycopg) told to check the certificate and the
// host name. Nothing when TLS is off.
func trustInternalCA(pod *kube.Pod, on bool) {
	mountCA(pod, on)
	if !on {
		return
	}
	for _, list := range [][]kube.Container{pod.InitContainers, pod.Containers} {
		for i := range list {
			list[i].Env = append(list[i].Env, LibpqTLSEnv()...)
		}
	}
}

// mountCA mounts the CA bundle at CAMountPath in every container of a pod.
func mountCA(pod *kube.Pod, on bool) {
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

// serveTLS gives a server pod its certificate, mounted into the named containers.
func serveTLS(pod *kube.Pod, server TLSServer, on bool, containers ...string) {
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
