package influxdb

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// The application's own InfluxDB token, in place of the admin token, which stays with InfluxDB's
// onboarding, setup and backup: an authorization that may read and write Bucket and nothing else.
// The setup job keeps it (InfluxDB generates tokens, so it is created once and found again by its
// description) and writes its token into AppTokenSecret under AppTokenKey.
const (
	AppTokenSecret     = "pynomaly-influxdb-app-token"
	AppTokenKey        = "token"
	appAuthDescription = "pynomaly-app"
	// setupComponent is the setup job's component and its one container's name.
	setupComponent = "influxdb-setup"
)

// appTokenSecret declares the application's token Secret empty: the token is InfluxDB's, so the
// program never holds it, and ignoring data and stringData keeps a later `pulumi up` from wiping
// what the setup job wrote. Should a refresh read the token into state, it is a secret there.
func appTokenSecret(ctx *pulumi.Context, c *InfluxDB, ns pulumi.StringInput) (*corev1.Secret, error) {
	s, err := corev1.NewSecret(ctx, AppTokenSecret, &corev1.SecretArgs{
		Metadata: kube.ObjectMeta(ctx, ns, AppTokenSecret, "influxdb"),
		Type:     pulumi.String("Opaque"),
	}, pulumi.Parent(c), pulumi.IgnoreChanges([]string{"data", "stringData"}),
		pulumi.AdditionalSecretOutputs([]string{"data", "stringData"}))
	if err != nil {
		return nil, fmt.Errorf("influxdb: app token secret: %w", err)
	}
	return s, nil
}

// setupAccess lets the setup job's account patch the application's token Secret, and
// nothing else.
func setupAccess(ctx *pulumi.Context, c *InfluxDB, ns pulumi.StringInput) (pulumi.Resource, error) {
	return kube.NewAccess(ctx, c, ns, kube.Access{Name: SetupJob, Component: setupComponent, Rules: rbacv1.PolicyRuleArray{
		kube.NamedRule("", []string{"secrets"}, []string{AppTokenSecret}, "patch"),
	}})
}
