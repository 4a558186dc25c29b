package credentials

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Credentials from an external secret manager. The External Secrets Operator (ESO) copies them
// into the same Secrets, under the same keys, that generated ones are in: an ExternalSecret per
// component Secret with an external credential merges them into the Secret the program
// declares (creationPolicy Merge), which keeps the values the program has (user names, the
// generated credentials). The program never reads an external value, so none is in its state or
// rendered output; what it would compute from one is computed where the value is: the pooler's
// user list by ESO's template, the SCRAM verifiers by the PostgreSQL setup job.

// ExternalSecretsAPI is the External Secrets Operator's API (v0.16 and later).
var ExternalSecretsAPI = tier.ClusterAPI{GroupVersion: "external-secrets.io/v1", Resource: "externalsecrets", Project: "the External Secrets Operator"}

// SyncAnnotation on an ExternalSecret changes with every rotation: a changed object is
// reconciled at once, so the rotating credential's new slot is read from the store in the same
// pulumi up, whatever secrets.external.refreshInterval.
const SyncAnnotation = "pynomaly.io/credentials-generations"

// remote is one key of a component Secret filled from the store.
type remote struct {
	secretKey, credential string
	slotB                 bool
}

// sourced are the keys of the component Secrets that an operator's credential fills, at
// generations g: the rotating credentials once per kept slot.
func sourced(g Generations) map[string][]remote {
	m := map[string][]remote{
		PostgresSecretName: {
			{PostgresSuperuserPasswordKey, "postgresSuperuserPassword", false},
			{PostgresReplicationPasswordKey, "postgresReplicationPassword", false},
			{PostgresMonitorPasswordKey, "postgresMonitorPassword", false},
		},
		InfluxDBSecretName: {{InfluxDBAdminPasswordKey, "influxdbAdminPassword", false}, {InfluxDBAdminTokenKey, "influxdbAdminToken", false}},
		GrafanaSecretName:  {{GrafanaAdminPasswordKey, "grafanaAdminPassword", false}},
		APISecretName:      {{APISecretKeyKey, "apiSecretKey", false}},
	}
	for _, gen := range Kept(g.PostgresApp) {
		m[PostgresSecretName] = append(m[PostgresSecretName], remote{PostgresAppPasswordKeyOf(SlotOf(gen)), "postgresAppPassword", SlotOf(gen) == 1})
	}
	for _, gen := range Kept(g.Redis) {
		m[RedisSecretName] = append(m[RedisSecretName], remote{RedisPasswordKeyOf(SlotOf(gen)), "redisPassword", SlotOf(gen) == 1})
	}
	return m
}

// externalSecret declares the ExternalSecret of one component Secret, after the Secret it merges
// into, or nothing when none of that Secret's credentials is external. Pulumi waits for it to
// be Ready (the Secret filled), so every consumer, which depends on the returned resource, starts
// with the values.
func (c *Secrets) externalSecret(ctx *pulumi.Context, args *Args, secretName, component string, secret pulumi.Resource) (*apiextensions.CustomResource, error) {
	var data []any
	for _, r := range sourced(args.Generations)[secretName] {
		if !args.Sources.IsExternal(r.credential) {
			continue
		}
		key, property := args.Sources.RemoteRef(r.credential, r.slotB)
		ref := map[string]any{"key": key}
		if property != "" {
			ref["property"] = property
		}
		data = append(data, map[string]any{"secretKey": r.secretKey, "remoteRef": ref})
	}
	if len(data) == 0 {
		return nil, nil
	}
	e := args.Sources.External
	// A template, even without data: without one ESO copies the ExternalSecret's annotations
	// onto the Secret, and the provider would then wait for a Ready condition on the Secret.
	template := map[string]any{"engineVersion": "v2", "mergePolicy": "Merge"}
	if t := externalTemplate(secretName, args); len(t) > 0 {
		template["data"] = t
	}
	target := map[string]any{"name": secretName, "creationPolicy": "Merge", "deletionPolicy": "Retain", "template": template}
	meta := kube.ObjectMeta(ctx, args.Namespace, secretName, component)
	meta.Annotations = pulumi.StringMap{
		// The provider waits for this condition: ESO sets it once the Secret holds every key.
		"pulumi.com/waitFor": pulumi.String("condition=Ready"),
		SyncAnnotation:       pulumi.String(fmt.Sprintf("postgresApp=%d,redis=%d", args.Generations.PostgresApp, args.Generations.Redis)),
	}
	es, err := apiextensions.NewCustomResource(ctx, secretName+"-external", &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(ExternalSecretsAPI.GroupVersion),
		Kind:       pulumi.String("ExternalSecret"),
		Metadata:   meta,
		OtherFields: kubernetes.UntypedArgs{"spec": map[string]any{
			"refreshInterval": e.RefreshInterval,
			"secretStoreRef":  map[string]any{"kind": e.StoreKind, "name": e.StoreName},
			"target":          target,
			"data":            data,
		}},
	}, pulumi.Parent(c), pulumi.DependsOn([]pulumi.Resource{secret}),
		// A rotation replaces the ExternalSecret: the engine's wait for Ready then sees the
		// operator's first sync of the new generations, never the Ready of the previous one,
		// whose slot a rotation back to slot a would otherwise let pods read stale. Deleting it
		// first keeps its name; its Secret stays (deletionPolicy Retain), values and all.
		pulumi.ReplaceOnChanges([]string{"metadata.annotations"}), pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, fmt.Errorf("secrets: %s: external secret: %w", secretName, err)
	}
	return es, nil
}

// externalTemplate are the keys ESO computes from external values: PgBouncer's user list from
// the application's kept logins (a plain-text auth file, as PgBouncerUserlist writes it).
func externalTemplate(secretName string, args *Args) map[string]any {
	if secretName != PostgresSecretName || !args.Sources.IsExternal("postgresAppPassword") {
		return nil
	}
	var list strings.Builder
	for _, gen := range Kept(args.Generations.PostgresApp) {
		slot := SlotOf(gen)
		// Doubled quotes, as PgBouncerUserlist writes them (sprig's replace).
		fmt.Fprintf(&list, "%q %s\n", PostgresAppLogin(slot), `"{{ index . "`+PostgresAppPasswordKeyOf(slot)+`" | replace "\"" "\"\"" }}"`)
	}
	return map[string]any{PostgresPoolerUserlistKey: list.String()}
}

// ExternalKeys are the keys of secretName that the store fills under sources at generations g,
// with the credential each holds: what the program leaves out of the Secret it declares.
func ExternalKeys(secretName string, sources config.Secrets, g Generations) map[string]string {
	keys := map[string]string{}
	for _, r := range sourced(g)[secretName] {
		if sources.IsExternal(r.credential) {
			keys[r.secretKey] = r.credential
		}
	}
	return keys
}
