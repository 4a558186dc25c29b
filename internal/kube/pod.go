package kube

import (
	"fmt"
	"maps"
	"slices"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Spread is how a workload's replicas are placed over nodes and zones.
type Spread int

const (
	// NoSpread leaves placement to the scheduler: single instances and jobs.
	NoSpread Spread = iota
	// PreferSpread asks for different nodes and zones, but a small cluster still schedules
	// everything.
	PreferSpread
	// RequireSpread never puts two replicas on one node, nor lets the zones' replica counts
	// differ by more than one: a lost node takes at most one replica, a lost zone its share.
	RequireSpread
)

// Metrics is where Prometheus scrapes a pod.
type Metrics struct {
	Port int
	Path string
	// TLSServerName, when set, is the name the pod's certificate carries: it serves its
	// metrics over TLS, and Prometheus verifies that name against the internal CA.
	TLSServerName string
}

// Pod is a pod template in plain values. The builder adds what every pod of the platform gets:
// the labels the selector uses, the pod security context, a service account of its own whose
// token only the API client container holds, placement, and scrape annotations when it has
// metrics.
type Pod struct {
	Component string
	// SelectorExtra adds labels to the component's selector and template (Patroni's scope).
	SelectorExtra map[string]string
	// Labels adds labels to the template only: what the pods carry for others to find them by
	// (the credential generations they hold), never part of the immutable selector.
	Labels map[string]string
	// UID and GID the containers run as; volumes are group-owned by GID.
	UID, GID int
	// APIClient names the one container, or init container, that calls the Kubernetes API: it
	// alone gets the account's token. Empty: no container does, and the pod holds no token.
	APIClient string
	// account is the pod's own ServiceAccount and kind its workload's kind; the workload
	// builders set both (withAccount).
	account, kind string
	Spread        Spread
	Metrics       *Metrics
	Annotations   map[string]string
	// NodeSelector are the node labels the pods require. Nil: those the stack's rules give the
	// component (WithStackRules), if any.
	NodeSelector map[string]string
	// GracePeriodSeconds is the time between SIGTERM and SIGKILL; 0 keeps the default (30 s).
	GracePeriodSeconds int
	// RestartPolicy is set by the Job builders.
	RestartPolicy              string
	InitContainers, Containers []Container
	Volumes                    corev1.VolumeArray
	// Host is what a node agent takes of its node; nil for every other pod.
	Host *HostAccess
}

// Selector are the labels that select this pod and no other workload's.
func (p Pod) Selector() map[string]string {
	s := SelectorLabels(p.Component)
	maps.Copy(s, p.SelectorExtra)
	return s
}

// Template is the pod template of a Deployment, StatefulSet, Job or CronJob.
func (p Pod) Template(ctx *pulumi.Context) *corev1.PodTemplateSpecArgs {
	rules := stackRulesOf(ctx)
	p.InitContainers, p.Containers = withPullPolicy(p.InitContainers, rules.PullPolicy), withPullPolicy(p.Containers, rules.PullPolicy)
	if p.NodeSelector == nil && rules.NodeSelectorOf != nil {
		p.NodeSelector = rules.NodeSelectorOf(p.Component)
	}
	labels := Labels(ctx, p.Component)
	for k, v := range rules.accountOf(p.Component).PodLabels {
		labels[k] = pulumi.String(v)
	}
	for k, v := range p.SelectorExtra {
		labels[k] = pulumi.String(v)
	}
	for k, v := range p.Labels {
		labels[k] = pulumi.String(v)
	}
	meta := &metav1.ObjectMetaArgs{Labels: labels}
	if a := p.annotations(); len(a) > 0 {
		meta.Annotations = toStringMap(a)
	}
	spec := p.spec()
	rules.schedule(spec, p.Component, p.kind)
	return &corev1.PodTemplateSpecArgs{Metadata: meta, Spec: spec}
}

func (p Pod) spec() *corev1.PodSpecArgs {
	spec := &corev1.PodSpecArgs{
		SecurityContext: podSecurity(p.UID, p.GID),
		Containers:      containerArray(p.withToken(p.Containers)),
		Volumes:         p.volumesWithToken(),
		// Never the kubelet's token in every container: see withAccount and volumesWithToken.
		ServiceAccountName:           pulumi.String(p.account),
		AutomountServiceAccountToken: pulumi.Bool(false),
	}
	if len(p.InitContainers) > 0 {
		spec.InitContainers = containerArray(p.withToken(p.InitContainers))
	}
	if p.Spread != NoSpread {
		spec.Affinity, spec.TopologySpreadConstraints = spread(p.Component, p.Spread == RequireSpread)
	}
	if p.GracePeriodSeconds > 0 {
		spec.TerminationGracePeriodSeconds = pulumi.Int(p.GracePeriodSeconds)
	}
	if p.RestartPolicy != "" {
		spec.RestartPolicy = pulumi.String(p.RestartPolicy)
	}
	if len(p.NodeSelector) > 0 {
		spec.NodeSelector = toStringMap(p.NodeSelector)
	}
	if p.Host != nil {
		p.Host.onHost(spec, spec.Containers.(corev1.ContainerArray))
	}
	return spec
}

// StackRules are what every pod template of a stack takes from the stack, not from its tier:
// the platform resolves them once (WithStackRules) and no tier passes them along. A nil function
// gives nothing.
type StackRules struct {
	// NodeSelectorOf gives a component's node selector (nil for none): the nodeSelectors setting.
	NodeSelectorOf func(component string) map[string]string
	// TolerationsOf gives the taints a component's pods tolerate (the tolerations setting).
	TolerationsOf func(component string) []Toleration
	// PriorityClassOf gives the PriorityClass of a component's pods whose workload is of kind
	// (Deployment, StatefulSet, Job, CronJob); "" for none.
	PriorityClassOf func(component, kind string) string
	// AccountOf gives what a component's ServiceAccount and pods carry for the stack (a cloud
	// identity, the serviceAccounts setting).
	AccountOf func(component string) AccountMeta
	// PullSecrets are the Secrets every pod pulls its images with (images.pullSecrets).
	PullSecrets []string
	// PullPolicy is every container's imagePullPolicy (images.pullPolicy; empty: the cluster's
	// default).
	PullPolicy string
}

// Toleration is a pod's toleration of a node taint.
type Toleration struct{ Key, Operator, Value, Effect string }

// AccountMeta is what the stack adds to a workload's ServiceAccount (Annotations, Labels) and to
// its pods (PodLabels: what a cloud's identity webhook selects pods by).
type AccountMeta struct{ Annotations, Labels, PodLabels map[string]string }

// accountOf is component's AccountMeta, empty without a rule.
func (r StackRules) accountOf(component string) AccountMeta {
	if r.AccountOf == nil {
		return AccountMeta{}
	}
	return r.AccountOf(component)
}

// schedule adds the stack's tolerations, priority class and pull secrets to a pod spec.
func (r StackRules) schedule(spec *corev1.PodSpecArgs, component, kind string) {
	if r.TolerationsOf != nil {
		var ts corev1.TolerationArray
		for _, t := range r.TolerationsOf(component) {
			ts = append(ts, &corev1.TolerationArgs{Key: optional(t.Key), Operator: optional(t.Operator),
				Value: optional(t.Value), Effect: optional(t.Effect)})
		}
		if len(ts) > 0 {
			spec.Tolerations = ts
		}
	}
	if r.PriorityClassOf != nil {
		if class := r.PriorityClassOf(component, kind); class != "" {
			spec.PriorityClassName = pulumi.String(class)
		}
	}
	if len(r.PullSecrets) > 0 {
		var refs corev1.LocalObjectReferenceArray
		for _, name := range r.PullSecrets {
			refs = append(refs, &corev1.LocalObjectReferenceArgs{Name: pulumi.String(name)})
		}
		spec.ImagePullSecrets = refs
	}
}

// optional is s, or no value at all when it is empty (a field the API server defaults).
func optional(s string) pulumi.StringPtrInput {
	if s == "" {
		return nil
	}
	return pulumi.String(s)
}

// stackRulesKey is where WithStackRules keeps the stack's rules in a context.
type stackRulesKey struct{}

// WithStackRules is ctx with the stack's rules for pod templates: every template built with the
// returned context, or one derived from it, follows them.
func WithStackRules(ctx *pulumi.Context, rules StackRules) *pulumi.Context {
	return ctx.WithValue(stackRulesKey{}, rules)
}

// stackRulesOf are the rules in ctx (WithStackRules); none outside a stack (tests of a tier).
func stackRulesOf(ctx *pulumi.Context) StackRules {
	rules, _ := ctx.Value(stackRulesKey{}).(StackRules)
	return rules
}

func (p Pod) annotations() map[string]string {
	a := map[string]string{}
	maps.Copy(a, p.Metrics.Annotations())
	maps.Copy(a, p.Annotations)
	return a
}

// Annotations tell an annotation-driven Prometheus where the pod's metrics are.
func (m *Metrics) Annotations() map[string]string {
	if m == nil {
		return nil
	}
	a := map[string]string{
		"prometheus.io/scrape": "true",
		"prometheus.io/port":   fmt.Sprint(m.Port),
		"prometheus.io/path":   m.Path,
	}
	if m.TLSServerName != "" {
		a["prometheus.io/scheme"] = "https"
	}
	return a
}

func containerArray(cs []Container) corev1.ContainerArray {
	out := make(corev1.ContainerArray, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.args())
	}
	return out
}

// withPullPolicy gives every container the pod's image pull policy.
func withPullPolicy(cs []Container, policy string) []Container {
	out := slices.Clone(cs)
	for i := range out {
		out[i].pullPolicy = policy
	}
	return out
}

// podSecurity is the pod-level context every pod runs with: non-root with a fixed user and
// group, volumes group-owned by fsGroup, and the runtime's default seccomp profile. With
// containerSecurity it meets Pod Security "restricted".
func podSecurity(uid, gid int) *corev1.PodSecurityContextArgs {
	return &corev1.PodSecurityContextArgs{
		RunAsNonRoot:        pulumi.Bool(true),
		RunAsUser:           pulumi.Int(uid),
		RunAsGroup:          pulumi.Int(gid),
		FsGroup:             pulumi.Int(gid),
		FsGroupChangePolicy: pulumi.String("OnRootMismatch"),
		SeccompProfile:      &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
	}
}

// spread places replicas on different nodes and zones, as a rule (required) or a preference.
func spread(component string, required bool) (*corev1.AffinityArgs, corev1.TopologySpreadConstraintArray) {
	selector := &metav1.LabelSelectorArgs{MatchLabels: toStringMap(SelectorLabels(component))}
	term := &corev1.PodAffinityTermArgs{LabelSelector: selector, TopologyKey: pulumi.String("kubernetes.io/hostname")}
	anti := &corev1.PodAntiAffinityArgs{}
	whenUnsatisfiable := "ScheduleAnyway"
	if required {
		anti.RequiredDuringSchedulingIgnoredDuringExecution = corev1.PodAffinityTermArray{term}
		whenUnsatisfiable = "DoNotSchedule"
	} else {
		anti.PreferredDuringSchedulingIgnoredDuringExecution = corev1.WeightedPodAffinityTermArray{
			&corev1.WeightedPodAffinityTermArgs{Weight: pulumi.Int(100), PodAffinityTerm: term},
		}
	}
	return &corev1.AffinityArgs{PodAntiAffinity: anti}, corev1.TopologySpreadConstraintArray{
		&corev1.TopologySpreadConstraintArgs{
			MaxSkew:           pulumi.Int(1),
			TopologyKey:       pulumi.String("topology.kubernetes.io/zone"),
			WhenUnsatisfiable: pulumi.String(whenUnsatisfiable),
			LabelSelector:     selector,
		},
	}
}

// EmptyDir is a scratch volume; a memory-backed one (for /dev/shm, or files that hold a
// password) counts against the container's memory limit.
func EmptyDir(name string, memory bool) *corev1.VolumeArgs {
	src := &corev1.EmptyDirVolumeSourceArgs{}
	if memory {
		src.Medium = pulumi.String("Memory")
	}
	return &corev1.VolumeArgs{Name: pulumi.String(name), EmptyDir: src}
}

// ConfigMapVolume mounts a ConfigMap's keys as files.
func ConfigMapVolume(name string, configMap pulumi.StringPtrInput) *corev1.VolumeArgs {
	return &corev1.VolumeArgs{Name: pulumi.String(name), ConfigMap: &corev1.ConfigMapVolumeSourceArgs{Name: configMap}}
}

// ClaimVolume mounts a PersistentVolumeClaim.
func ClaimVolume(name string, claim pulumi.StringInput) *corev1.VolumeArgs {
	return &corev1.VolumeArgs{Name: pulumi.String(name), PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSourceArgs{ClaimName: claim}}
}
