// Package tests runs the program against a mocked Pulumi engine and asks questions about what it
// declared: which resources, with which inputs, parents, providers and dependencies.
package tests

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/preflight"
	"github.com/pynomaly/pynomaly-platform/platform"
)

const project = "pynomaly-platform"

// Resource is one registration the program made, as the engine saw it.
type Resource struct {
	Type, Name string
	Custom     bool
	Inputs     resource.PropertyMap
	Parent     string
	Provider   string
	// Dependencies are the URNs the engine waits for before creating this resource.
	Dependencies        []string
	Protect             bool
	RetainOnDelete      bool
	DeleteBeforeReplace bool
	// ReplaceOnChanges are the input paths whose change replaces the resource.
	ReplaceOnChanges []string
	// IgnoreChanges are the input paths the engine never diffs.
	IgnoreChanges []string
	// CreateTimeout is the custom create timeout ("" for the provider's default).
	CreateTimeout string
	// Version is the plugin version requested with pulumi.Version ("" for the SDK's).
	Version string

	urn string
}

// Stack is everything one mocked run declared.
type Stack struct {
	Resources []*Resource
	// Outputs are the platform's stack outputs, resolved.
	Outputs resource.PropertyMap
	// Platform is the program's own view: its tiers and the workloads they declared.
	Platform *platform.Platform
}

// mocks records every registration. It also does what the engine and providers would do to
// outputs, so the program sees realistic values: auto-names for unnamed Kubernetes objects, a
// generated result for random passwords, and additionalSecretOutputs marked secret.
type mocks struct {
	mu        sync.Mutex
	stack     *Stack
	stackName string
	// previous are the stack outputs of its last deployment, which the program reads through a
	// StackReference to itself; nil for a stack never deployed.
	previous resource.PropertyMap
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rpc := args.RegisterRPC
	r := &Resource{
		Type: args.TypeToken, Name: args.Name, Custom: args.Custom, Inputs: args.Inputs,
		Provider: args.Provider,
	}
	if rpc != nil {
		r.Parent = rpc.GetParent()
		r.Dependencies = rpc.GetDependencies()
		r.Protect = rpc.GetProtect()
		r.RetainOnDelete = rpc.GetRetainOnDelete()
		r.DeleteBeforeReplace = rpc.GetDeleteBeforeReplace()
		r.ReplaceOnChanges = rpc.GetReplaceOnChanges()
		r.IgnoreChanges = rpc.GetIgnoreChanges()
		r.CreateTimeout = rpc.GetCustomTimeouts().GetCreate()
		r.Version = rpc.GetVersion()
	}
	if read := args.ReadRPC; read != nil {
		r.Parent = read.GetParent()
	}
	r.urn = m.urn(r.Parent, r.Type, r.Name)
	m.mu.Lock()
	m.stack.Resources = append(m.stack.Resources, r)
	m.mu.Unlock()

	if args.TypeToken == outputsProbe {
		m.mu.Lock()
		m.stack.Outputs = args.Inputs
		m.mu.Unlock()
	}

	state := args.Inputs.Copy()
	if strings.HasPrefix(args.TypeToken, "kubernetes:") && state.HasValue("metadata") {
		meta := state["metadata"].ObjectValue().Copy()
		if !meta.HasValue("name") {
			meta["name"] = resource.NewProperty(args.Name + "-" + suffix(args.Name))
		}
		state["metadata"] = resource.NewProperty(meta)
	}
	if args.TypeToken == "pulumi:pulumi:StackReference" && m.previous != nil {
		state["outputs"] = resource.NewProperty(m.previous)
	}
	if args.TypeToken == "random:index/randomPassword:RandomPassword" {
		n := int(args.Inputs["length"].NumberValue())
		state["result"] = resource.NewProperty(fakeSecret(args.Name, n))
	}
	if args.TypeToken == "random:index/randomId:RandomId" {
		sum := sha256.Sum256([]byte(args.Inputs["keepers"].String()))
		state["hex"] = resource.NewProperty(hex.EncodeToString(sum[:int(args.Inputs["byteLength"].NumberValue())]))
	}
	if args.TypeToken == "random:index/randomBytes:RandomBytes" {
		b := []byte(fakeSecret(args.Name, int(args.Inputs["length"].NumberValue())))
		state["base64"] = resource.NewProperty(base64.StdEncoding.EncodeToString(b))
		state["hex"] = resource.NewProperty(hex.EncodeToString(b))
	}
	if rpc != nil {
		for _, k := range rpc.GetAdditionalSecretOutputs() {
			if v, ok := state[resource.PropertyKey(k)]; ok && !v.IsSecret() {
				state[resource.PropertyKey(k)] = resource.MakeSecret(v)
			}
		}
	}
	return args.Name + "-id", state, nil
}

// urn builds a URN the way the mock engine does: stack, project, parent's type chain, type, name.
func (m *mocks) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(m.stackName), tokens.PackageName(project), parentType, tokens.Type(typ), name))
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("unexpected invoke %s", args.Token)
}

// fakeSecret is what a generated credential looks like in these tests: recognisable, so a test
// can search every resource for a leak of it.
func fakeSecret(name string, length int) string {
	s := "GENERATED" + strings.ReplaceAll(name, "-", "") + strings.Repeat("x", length)
	return s[:length]
}

func suffix(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	return fmt.Sprintf("%07x", h.Sum32())[:7]
}

const outputsProbe = "test:index:StackOutputs"

// cfg is a stack configuration: keys without the project prefix.
type cfg map[string]string

// run is the program of main.go (platform.Program) under mocks; its outputs go to a probe
// resource, which the mock engine records once they resolve.
func run(env string, c cfg, secretKeys ...string) (*Stack, error) {
	return runAfter(nil, env, c, secretKeys...)
}

// runAfter is run on a stack whose last deployment exported previous.
func runAfter(previous resource.PropertyMap, env string, c cfg, secretKeys ...string) (*Stack, error) {
	return runOn(completeCluster(), previous, env, c, secretKeys...)
}

// runOn is runAfter with the cluster the program's preflight checks.
func runOn(cluster *fakeCluster, previous resource.PropertyMap, env string, c cfg, secretKeys ...string) (*Stack, error) {
	st := &Stack{}
	stackName := env
	if stackName == "" {
		stackName = "unnamed"
	}
	file, err := stackValues(env, c)
	if err != nil {
		return nil, err
	}
	values := map[string]string{}
	if env != "" {
		values[project+":environment"] = env
	}
	for k, v := range file {
		values[project+":"+k] = v
	}
	var secrets []string
	for _, k := range secretKeys {
		secrets = append(secrets, project+":"+k)
	}
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		outputs := pulumi.Map{}
		p, err := platform.Program(ctx, func(name string, v pulumi.Input) { outputs[name] = v },
			func(config.Kubernetes) (preflight.Cluster, error) { return cluster, nil })
		if err != nil {
			return err
		}
		st.Platform = p
		var probe pulumi.CustomResourceState
		return ctx.RegisterResource(outputsProbe, "outputs", outputs, &probe)
	}, pulumi.WithMocks(project, stackName, &mocks{stack: st, stackName: stackName, previous: previous}), func(info *pulumi.RunInfo) {
		info.Config = values
		info.ConfigSecretKeys = secrets
	})
	return st, err
}

// deploy runs an environment's stack and fails the test if the program fails.
func deploy(t *testing.T, env string, c cfg, secretKeys ...string) *Stack {
	t.Helper()
	st, err := run(env, c, secretKeys...)
	require.NoError(t, err, "%s stack", env)
	return st
}

// One returns the single resource of type typ and logical name name.
func (s *Stack) One(t *testing.T, typ, name string) *Resource {
	t.Helper()
	var found []*Resource
	for _, r := range s.Resources {
		if r.Type == typ && r.Name == name {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1, "resources %s %q", typ, name)
	return found[0]
}

// OfType returns every resource of type typ, in registration order.
func (s *Stack) OfType(typ string) []*Resource {
	var out []*Resource
	for _, r := range s.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// ByURN finds a resource by its URN.
func (s *Stack) ByURN(urn string) *Resource {
	for _, r := range s.Resources {
		if r.URN() == urn {
			return r
		}
	}
	return nil
}

// Component returns the component resource of kind (pynomaly:platform:<kind>).
func (s *Stack) Component(t *testing.T, kind string) *Resource {
	t.Helper()
	rs := s.OfType("pynomaly:platform:" + kind)
	require.Len(t, rs, 1, "component %s", kind)
	return rs[0]
}

// ChildrenOf lists the resources whose parent is c.
func (s *Stack) ChildrenOf(c *Resource) []*Resource {
	var out []*Resource
	for _, r := range s.Resources {
		if r.Parent == c.URN() {
			out = append(out, r)
		}
	}
	return out
}

// DependsOn says whether the engine waits for dep before creating r. Only an object can be
// a dependency: the SDK replaces a component by the children it had registered (see kube.After).
func (s *Stack) DependsOn(r, dep *Resource) bool {
	return slices.Contains(r.Dependencies, dep.URN())
}

// URN is the resource's URN as the mock engine builds it (parent type chain + name).
func (r *Resource) URN() string { return r.urn }

// Get follows a dotted path through the inputs ("metadata.labels.app") and returns the value,
// unwrapping secrets. ok is false when a step is missing.
func (r *Resource) Get(path string) (resource.PropertyValue, bool) {
	v := resource.NewProperty(r.Inputs)
	for _, step := range splitPath(path) {
		for v.IsSecret() {
			v = v.SecretValue().Element
		}
		switch {
		case v.IsObject():
			next, ok := v.ObjectValue()[resource.PropertyKey(step)]
			if !ok {
				return resource.PropertyValue{}, false
			}
			v = next
		case v.IsArray():
			var i int
			if _, err := fmt.Sscan(step, &i); err != nil || i >= len(v.ArrayValue()) {
				return resource.PropertyValue{}, false
			}
			v = v.ArrayValue()[i]
		default:
			return resource.PropertyValue{}, false
		}
	}
	return v, true
}

// Str returns the string at path, or fails the test.
func (r *Resource) Str(t *testing.T, path string) string {
	t.Helper()
	v, ok := r.Get(path)
	require.True(t, ok, "%s %s: no %s", r.Type, r.Name, path)
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	require.True(t, v.IsString(), "%s %s: %s is %v, not a string", r.Type, r.Name, path, v)
	return v.StringValue()
}

// Has says whether path is set.
func (r *Resource) Has(path string) bool {
	_, ok := r.Get(path)
	return ok
}

// IsSecret says whether the value at path is stored as a secret: it, or an object or array that
// holds it, is marked secret (a map built from secret outputs is secret as a whole).
func (r *Resource) IsSecret(t *testing.T, path string) bool {
	t.Helper()
	_, ok := r.Get(path)
	require.True(t, ok, "%s %s: no %s", r.Type, r.Name, path)
	v := resource.NewProperty(r.Inputs)
	for _, step := range splitPath(path) {
		if v.IsSecret() {
			return true
		}
		if v.IsArray() {
			var i int
			fmt.Sscan(step, &i)
			v = v.ArrayValue()[i]
		} else {
			v = v.ObjectValue()[resource.PropertyKey(step)]
		}
	}
	return v.IsSecret()
}

// StringMap returns the map of strings at path (labels, data, quota hard limits).
func (r *Resource) StringMap(t *testing.T, path string) map[string]string {
	t.Helper()
	v, ok := r.Get(path)
	require.True(t, ok, "%s %s: no %s", r.Type, r.Name, path)
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	require.True(t, v.IsObject(), "%s %s: %s is not an object", r.Type, r.Name, path)
	out := map[string]string{}
	for k, e := range v.ObjectValue() {
		for e.IsSecret() {
			e = e.SecretValue().Element
		}
		out[string(k)] = e.StringValue()
	}
	return out
}

func splitPath(p string) []string { return strings.Split(p, ".") }

var envs = []string{"dev", "staging", "prod"}

// PodTemplate is one pod spec the program declares, and the workload that owns it.
type PodTemplate struct {
	Owner *Resource
	// Path is where the pod spec sits in the owner's inputs.
	Path string
	// LongRunning is false for Jobs and CronJobs, whose pods run to completion.
	LongRunning bool
}

// NodeAgent says the template is a node agent's (a DaemonSet of the node agents' namespace): outside
// the platform namespace's quota, Pod Security level and admission policies.
func (p PodTemplate) NodeAgent(t *testing.T) bool {
	return strings.HasSuffix(p.Owner.Str(t, "metadata.namespace"), "-node")
}

// PodTemplates lists every pod spec: Deployments, StatefulSets, DaemonSets, Jobs and CronJobs.
func (s *Stack) PodTemplates() []PodTemplate {
	var out []PodTemplate
	for _, r := range s.Resources {
		switch r.Type {
		case "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet":
			out = append(out, PodTemplate{r, "spec.template.spec", true})
		case "kubernetes:batch/v1:Job":
			out = append(out, PodTemplate{r, "spec.template.spec", false})
		case "kubernetes:batch/v1:CronJob":
			out = append(out, PodTemplate{r, "spec.jobTemplate.spec.template.spec", false})
		}
	}
	return out
}

// Containers returns the paths of a pod template's containers (init containers first).
func (p PodTemplate) Containers() []string {
	var out []string
	for _, kind := range []string{"initContainers", "containers"} {
		v, ok := p.Owner.Get(p.Path + "." + kind)
		if !ok {
			continue
		}
		for i := range v.ArrayValue() {
			out = append(out, fmt.Sprintf("%s.%s.%d", p.Path, kind, i))
		}
	}
	return out
}

// SecretVolume is a Secret that one of a pod template's volumes holds: a secret volume's, or one
// source of a projected volume (Source, from 0; -1 for a secret volume). Keys are the items it
// projects; none means every key.
type SecretVolume struct {
	Volume, Secret string
	Source         int
	Keys           []string
}

// SecretVolumes are the Secrets the template's volumes hold.
func (p PodTemplate) SecretVolumes(t *testing.T) []SecretVolume {
	t.Helper()
	r := p.Owner
	items := func(src string) []string {
		var keys []string
		for i := 0; r.Has(fmt.Sprintf("%s.items.%d", src, i)); i++ {
			keys = append(keys, r.Str(t, fmt.Sprintf("%s.items.%d.key", src, i)))
		}
		return keys
	}
	var out []SecretVolume
	for i := 0; r.Has(fmt.Sprintf("%s.volumes.%d", p.Path, i)); i++ {
		vol := fmt.Sprintf("%s.volumes.%d", p.Path, i)
		name := r.Str(t, vol+".name")
		if r.Has(vol + ".secret") {
			out = append(out, SecretVolume{name, r.Str(t, vol+".secret.secretName"), -1, items(vol + ".secret")})
		}
		for j := 0; r.Has(fmt.Sprintf("%s.projected.sources.%d", vol, j)); j++ {
			if src := fmt.Sprintf("%s.projected.sources.%d.secret", vol, j); r.Has(src) {
				out = append(out, SecretVolume{name, r.Str(t, src+".name"), j, items(src)})
			}
		}
	}
	return out
}

// Container finds a container of a workload by name and returns its path.
func (r *Resource) Container(t *testing.T, specPath, name string) string {
	t.Helper()
	for _, kind := range []string{"containers", "initContainers"} {
		v, ok := r.Get(specPath + "." + kind)
		if !ok {
			continue
		}
		for i := range v.ArrayValue() {
			p := fmt.Sprintf("%s.%s.%d", specPath, kind, i)
			if r.Str(t, p+".name") == name {
				return p
			}
		}
	}
	require.Failf(t, "no such container", "%s %s has no container %s", r.Type, r.Name, name)
	return ""
}

// Env returns a container's environment: plain values by name, and secret references as
// "secret:<name>/<key>" (field references as "field:<path>").
func (r *Resource) Env(t *testing.T, containerPath string) map[string]string {
	t.Helper()
	out := map[string]string{}
	v, ok := r.Get(containerPath + ".env")
	if !ok {
		return out
	}
	for i := range v.ArrayValue() {
		p := fmt.Sprintf("%s.env.%d", containerPath, i)
		name := r.Str(t, p+".name")
		switch {
		case r.Has(p + ".valueFrom.secretKeyRef"):
			out[name] = "secret:" + r.Str(t, p+".valueFrom.secretKeyRef.name") + "/" + r.Str(t, p+".valueFrom.secretKeyRef.key")
		case r.Has(p + ".valueFrom.fieldRef"):
			out[name] = "field:" + r.Str(t, p+".valueFrom.fieldRef.fieldPath")
		case r.Has(p + ".value"):
			out[name] = r.Str(t, p+".value")
		default:
			out[name] = ""
		}
	}
	return out
}

// Int returns the number at path.
func (r *Resource) Int(t *testing.T, path string) int {
	t.Helper()
	v, ok := r.Get(path)
	require.True(t, ok, "%s %s: no %s", r.Type, r.Name, path)
	require.True(t, v.IsNumber(), "%s %s: %s is %v", r.Type, r.Name, path, v)
	return int(v.NumberValue())
}

// Bool returns the boolean at path (false when unset).
func (r *Resource) Bool(path string) bool {
	v, ok := r.Get(path)
	return ok && v.IsBool() && v.BoolValue()
}
