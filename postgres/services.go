package postgres

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// postgresServiceSet are the cluster's Services: the StatefulSet's headless one, the read-write
// one that follows the leader, and the read-only one over the replicas.
type postgresServiceSet struct {
	headless, primary *corev1.Service
}

func postgresServices(ctx *pulumi.Context, c *Postgres, ns pulumi.StringInput) (postgresServiceSet, error) {
	postgresql := kube.ServicePort("postgresql", Port)
	var set postgresServiceSet
	var err error
	// The headless Service also carries Patroni's API, which the setup job talks to.
	if set.headless, err = kube.NewService(ctx, c, ns, kube.Service{
		Name: HeadlessService, Component: "postgres", Selector: postgresSelector(""), Headless: true,
		Ports: corev1.ServicePortArray{postgresql, kube.ServicePort("patroni", patroniPort)},
	}); err != nil {
		return set, err
	}
	if set.primary, err = kube.NewService(ctx, c, ns, kube.Service{
		Name: ServiceName, Component: "postgres", Selector: postgresSelector(patroniLeaderValue),
		Ports: corev1.ServicePortArray{postgresql},
	}); err != nil {
		return set, err
	}
	_, err = kube.NewService(ctx, c, ns, kube.Service{
		Name: ReplicaService, Component: "postgres", Selector: postgresSelector("replica"),
		Ports: corev1.ServicePortArray{postgresql},
	})
	return set, err
}

// The servers of the platform and the hosts their clients use, from the names the tiers
// declare their Services and StatefulSets under.
func ServerTLS(replicas int) tier.TLSServer {
	return tier.TLSServer{Name: Name, Hosts: append(
		tier.StatefulHosts(ServiceName, HeadlessService, Name, replicas), ReplicaService)}
}

// PoolerTLS is PgBouncer's Service.
func PoolerTLS() tier.TLSServer {
	return tier.TLSServer{Name: PoolerName, Hosts: []string{PoolerName}}
}
