package tier

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// Context is what every tier shares, handed to each by the platform in its Args: the namespace
// its objects go in, whether servers and clients speak TLS, how replicas keep apart, and whether
// what holds data is protected. (The node selectors and the image pull policy are rules of every
// pod template; kube.WithStackRules resolves them once.)
type Context struct {
	// Namespace is the Namespace object's name, so every object is created after it.
	Namespace pulumi.StringInput
	// TLS is tls.internal: the servers present certificates of the internal CA, the clients
	// verify them and the host names they dial.
	TLS bool
	// Spread is placement: how the replicas of each database and of the pooler keep apart.
	Spread kube.Spread
	// Protect keeps what holds data, and the credentials to it, through `pulumi destroy` and
	// replacement (prod).
	Protect bool
	// Store is where what holds data is copied off the cluster (CopyOffCluster); off unless
	// the stack names a bucket.
	Store ObjectStore
}
