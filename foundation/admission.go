package foundation

import (
	"fmt"
	"slices"
	"strings"

	admissionv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/admissionregistration/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// AdmissionArgs configures the namespace's admission policies.
type AdmissionArgs struct {
	// Namespace is the platform's namespace; the policies hold for its pods only.
	Namespace string
	// Images are every image the stack's pods run, as the settings name them (the plan's).
	Images []string
	// Database is what Patroni may change on the database pods.
	Database DatabasePods
}

// DatabasePods are the database pods and what Patroni writes on them: the Services select pods
// by labels, so a pod that could relabel itself could take another Service's traffic.
type DatabasePods struct {
	// Component is the pods' component label; ServiceAccount is Patroni's (the pods' own).
	Component, ServiceAccount string
	// Labels and Annotations are the keys Patroni writes (its role label, its status).
	Labels, Annotations []string
}

// Admission is the namespace's ValidatingAdmissionPolicies and their bindings: Kubernetes' own
// CEL admission (GA in 1.30), no controller to run. Cluster-scoped, named after the namespace.
type Admission struct {
	pulumi.ResourceState
	tier.OutputSet
}

// NewAdmission declares the policies and binds each to the namespace, denying what it refuses.
func NewAdmission(ctx *pulumi.Context, name string, args *AdmissionArgs, opts ...pulumi.ResourceOption) (*Admission, error) {
	c := &Admission{}
	if err := ctx.RegisterComponentResource(tier.Type("Admission"), name, c, opts...); err != nil {
		return nil, err
	}
	for _, p := range AdmissionPolicies(args) {
		if err := c.declare(ctx, args.Namespace, p); err != nil {
			return nil, err
		}
	}
	c.Keep(pulumi.Map{})
	return c, nil
}

// declare is one policy and its binding to the namespace.
func (c *Admission) declare(ctx *pulumi.Context, namespace string, p AdmissionPolicy) error {
	meta := &metav1.ObjectMetaArgs{Name: pulumi.String(p.Name), Labels: kube.Labels(ctx, "admission")}
	var variables admissionv1.VariableArray
	for _, v := range p.Variables {
		variables = append(variables, admissionv1.VariableArgs{Name: pulumi.String(v[0]), Expression: pulumi.String(v[1])})
	}
	var validations admissionv1.ValidationArray
	for _, v := range p.Validations {
		validations = append(validations, admissionv1.ValidationArgs{Expression: pulumi.String(v.Expression), Message: pulumi.String(v.Message)})
	}
	constraints := &admissionv1.MatchResourcesArgs{ResourceRules: admissionv1.NamedRuleWithOperationsArray{admissionv1.NamedRuleWithOperationsArgs{
		ApiGroups: pulumi.StringArray{pulumi.String("")}, ApiVersions: pulumi.StringArray{pulumi.String("v1")},
		Resources: pulumi.StringArray{pulumi.String("pods")}, Operations: pulumi.ToStringArray(p.Operations),
	}}}
	if len(p.ObjectSelector) > 0 {
		constraints.ObjectSelector = &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(p.ObjectSelector)}
	}
	policy, err := admissionv1.NewValidatingAdmissionPolicy(ctx, p.Name, &admissionv1.ValidatingAdmissionPolicyArgs{
		Metadata: meta,
		Spec: &admissionv1.ValidatingAdmissionPolicySpecArgs{
			FailurePolicy: pulumi.String("Fail"), MatchConstraints: constraints, Variables: variables, Validations: validations,
		},
	}, pulumi.Parent(c))
	if err != nil {
		return fmt.Errorf("admission policy %s: %w", p.Name, err)
	}
	_, err = admissionv1.NewValidatingAdmissionPolicyBinding(ctx, p.Name, &admissionv1.ValidatingAdmissionPolicyBindingArgs{
		Metadata: meta,
		Spec: &admissionv1.ValidatingAdmissionPolicyBindingSpecArgs{
			PolicyName:        policy.Metadata.Name().Elem(),
			ValidationActions: pulumi.ToStringArray([]string{"Deny"}),
			MatchResources: &admissionv1.MatchResourcesArgs{NamespaceSelector: &metav1.LabelSelectorArgs{
				MatchLabels: pulumi.StringMap{"kubernetes.io/metadata.name": pulumi.String(namespace)},
			}},
		},
	}, pulumi.Parent(c))
	if err != nil {
		return fmt.Errorf("admission policy binding %s: %w", p.Name, err)
	}
	return nil
}

// AdmissionPolicy is one ValidatingAdmissionPolicy on the namespace's pods, as plain values.
type AdmissionPolicy struct {
	Name string
	// Operations are the pod operations it checks (CREATE, UPDATE).
	Operations []string
	// ObjectSelector narrows it to pods with these labels.
	ObjectSelector map[string]string
	// Variables are CEL variables, name and expression, in order.
	Variables [][2]string
	// Validations are CEL expressions that must hold, each with the message of its refusal.
	Validations []Validation
}

// Validation is a CEL expression a request must satisfy, and the message when it does not.
type Validation struct{ Expression, Message string }

// containersVariable is every container of the pod but the ephemeral ones (a debug container
// is added by the pods/ephemeralcontainers subresource, which only administrators reach).
var containersVariable = [2]string{"containers",
	"object.spec.containers + (has(object.spec.initContainers) ? object.spec.initContainers : [])"}

// AdmissionPolicies are the namespace's policies:
//   - host isolation: no privileged container, no host network, PID or IPC namespace, host
//     path or host port, when a pod is created. Pod Security enforces the same from baseline up; this holds even if the
//     namespace's Pod Security labels are loosened.
//   - image sources: every image is from a repository the stack's settings name (images.*, so
//     images built locally are allowed through the same settings), by digest where the setting
//     gives a digest; an update may keep the images the pod had.
//   - database pod labels: only Patroni changes a database pod's labels and annotations, and
//     only its own keys.
func AdmissionPolicies(args *AdmissionArgs) []AdmissionPolicy {
	prefix := args.Namespace + "."
	return []AdmissionPolicy{{
		// CREATE only: none of these fields of a pod can change once it exists.
		Name: prefix + "host-isolation", Operations: []string{"CREATE"},
		Variables: [][2]string{containersVariable},
		Validations: []Validation{{
			Expression: "variables.containers.all(c, !(has(c.securityContext) && has(c.securityContext.privileged) && c.securityContext.privileged))",
			Message:    "no container of the platform's namespace may run privileged",
		}, {
			Expression: "!(has(object.spec.hostNetwork) && object.spec.hostNetwork) && !(has(object.spec.hostPID) && object.spec.hostPID) && " +
				"!(has(object.spec.hostIPC) && object.spec.hostIPC)",
			Message: "no pod of the platform's namespace may share the node's network, process or IPC namespace",
		}, {
			Expression: "(!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.hostPath))) && " +
				"variables.containers.all(c, !has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0))",
			Message: "no pod of the platform's namespace may mount a host path or take a host port",
		}},
	}, {
		// An update may keep the images a pod has: the garbage collector updates the pods a
		// deleted StatefulSet orphans (prod) or leaves to it, and their image may be one the
		// settings no longer name (monitoringMode operator drops the bundled Prometheus).
		Name: ImageSourcesPolicy(args.Namespace), Operations: []string{"CREATE", "UPDATE"},
		Variables: [][2]string{containersVariable, {"allowed", celList(imagePrefixes(args.Images))}, {"kept",
			"request.operation == 'UPDATE' ? (oldObject.spec.containers + (has(oldObject.spec.initContainers) ? " +
				"oldObject.spec.initContainers : [])).map(c, c.image) : []"}},
		Validations: []Validation{{
			Expression: "variables.containers.all(c, c.image in variables.kept || variables.allowed.exists(p, c.image.startsWith(p)))",
			Message: "every image in the platform's namespace comes from a repository the stack's images settings name " +
				"(by digest where the setting gives one): " + strings.Join(repositories(args.Images), ", "),
		}},
	}, databasePodPolicy(prefix, args.Namespace, args.Database)}
}

// ImageSourcesPolicy is the name of the namespace's image-sources policy, the one deployers may
// change (AccessArgs.ImagePolicy).
func ImageSourcesPolicy(namespace string) string { return namespace + ".image-sources" }

// databasePodPolicy: only Patroni's account changes a database pod's labels and annotations,
// and only the keys Patroni writes.
func databasePodPolicy(prefix, namespace string, db DatabasePods) AdmissionPolicy {
	changed := func(field string) string {
		now, old := "object.metadata."+field, "oldObject.metadata."+field
		return fmt.Sprintf("(has(%[1]s) ? %[1]s.filter(k, !has(%[2]s) || !(k in %[2]s) || %[2]s[k] != %[1]s[k]) : []) + "+
			"(has(%[2]s) ? %[2]s.filter(k, !has(%[1]s) || !(k in %[1]s)) : [])", now, old)
	}
	patroni := fmt.Sprintf("system:serviceaccount:%s:%s", namespace, db.ServiceAccount)
	return AdmissionPolicy{
		Name: prefix + "database-pod-labels", Operations: []string{"UPDATE"},
		ObjectSelector: map[string]string{"component": db.Component},
		Variables:      [][2]string{{"labels", changed("labels")}, {"annotations", changed("annotations")}},
		Validations: []Validation{{
			Expression: fmt.Sprintf("size(variables.labels) + size(variables.annotations) == 0 || request.userInfo.username == '%s'", patroni),
			Message:    fmt.Sprintf("only Patroni (%s) may change the labels and annotations of a database pod", patroni),
		}, {
			Expression: fmt.Sprintf("variables.labels.all(k, k in %s) && variables.annotations.all(k, k in %s)", celList(db.Labels), celList(db.Annotations)),
			Message: fmt.Sprintf("a database pod's labels may change only in %s and its annotations only in %s, Patroni's own: "+
				"the Services select pods by the others", strings.Join(db.Labels, ", "), strings.Join(db.Annotations, ", ")),
		}},
	}
}

// repositories are the images without their tags or digests, each once, in order.
func repositories(images []string) []string {
	var out []string
	for _, image := range images {
		repo, _ := splitImage(image)
		if !slices.Contains(out, repo) {
			out = append(out, repo)
		}
	}
	return out
}

// imagePrefixes are what an allowed image starts with: its repository and a tag or a digest; a
// digest only, where the setting names the image by digest.
func imagePrefixes(images []string) []string {
	digestOnly := map[string]bool{}
	for _, image := range images {
		if repo, byDigest := splitImage(image); byDigest {
			digestOnly[repo] = true
		}
	}
	var out []string
	for _, repo := range repositories(images) {
		out = append(out, repo+"@sha256:")
		if !digestOnly[repo] {
			out = append(out, repo+":")
		}
	}
	return out
}

// splitImage is an image reference's repository, and whether it names a digest. A tag is what
// follows the last ':' after the last '/' (a registry's port comes before a '/').
func splitImage(image string) (repo string, byDigest bool) {
	if at := strings.Index(image, "@"); at >= 0 {
		return image[:at], true
	}
	if colon := strings.LastIndex(image, ":"); colon > strings.LastIndex(image, "/") {
		return image[:colon], false
	}
	return image, false
}

// celList is a CEL list of string literals (the values are image references and label keys:
// no quote or backslash in them).
func celList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "'" + v + "'"
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
