package kube

import (
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// declared records the inputs of every resource a mocked engine is given, by type.
type declared struct {
	mu     sync.Mutex
	byType map[string][]resource.PropertyMap
}

func (d *declared) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byType[args.TypeToken] = append(d.byType[args.TypeToken], args.Inputs)
	return args.Name + "-id", args.Inputs, nil
}

func (d *declared) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return resource.PropertyMap{}, nil
}

// one is the only resource of type t that was declared.
func (d *declared) one(t *testing.T, typ string) resource.PropertyMap {
	t.Helper()
	require.Len(t, d.byType[typ], 1, typ)
	return d.byType[typ][0]
}

// at is the value at a dotted path of object keys in m.
func at(m resource.PropertyMap, path ...string) resource.PropertyValue {
	v := resource.NewObjectProperty(m)
	for _, k := range path {
		v = v.ObjectValue()[resource.PropertyKey(k)]
	}
	return v
}

// declare runs build on a mocked engine and returns what it declared.
func declare(t *testing.T, build func(ctx *pulumi.Context) error) *declared {
	t.Helper()
	d := &declared{byType: map[string][]resource.PropertyMap{}}
	require.NoError(t, pulumi.RunErr(build, pulumi.WithMocks("project", "stack", d)))
	return d
}

var twoContainers = Pod{
	Component: "db", UID: 10000, GID: 10000,
	Containers: []Container{
		{Name: "server", Image: "server:1", Resources: Resources{CPURequest: "1", MemoryRequest: "1Gi", CPULimit: "2", MemoryLimit: "2Gi"}},
		{Name: "exporter", Image: "exporter:1", Resources: Resources{CPURequest: "10m", MemoryRequest: "16Mi", CPULimit: "50m", MemoryLimit: "32Mi"}},
	},
}

// A StatefulSet's description, known before it is declared, is what NewStatefulSet declares:
// its replicas each with the pod's containers and a claim of the template's size, and the pods'
// ServiceAccount.
func TestStatefulSetWorkloadIsWhatIsDeclared(t *testing.T) {
	s := StatefulSet{Name: "pynomaly-db", Replicas: 3, ServiceName: pulumi.String("pynomaly-db-headless"),
		Pod: twoContainers, Claim: Claim{Name: "data", Size: "10Gi"}, Volumes: Volumes{Class: pulumi.String("fast")}}
	planned := s.Workload()
	var returned Workload
	d := declare(t, func(ctx *pulumi.Context) error {
		var err error
		_, returned, err = NewStatefulSet(ctx, nil, pulumi.String("ns"), s)
		return err
	})
	assert.Equal(t, planned, returned)
	spec := at(d.one(t, "kubernetes:apps/v1:StatefulSet"), "spec")
	assert.Equal(t, float64(planned.Footprint.Pods), at(spec.ObjectValue(), "replicas").NumberValue())
	claims := at(spec.ObjectValue(), "volumeClaimTemplates").ArrayValue()
	require.Len(t, claims, 1)
	assert.Equal(t, planned.Footprint.Claims, planned.Footprint.Pods*len(claims))
	assert.Equal(t, "10Gi", at(claims[0].ObjectValue(), "spec", "resources", "requests", "storage").StringValue())
	podSpec := at(spec.ObjectValue(), "template", "spec").ObjectValue()
	assert.Len(t, podSpec["containers"].ArrayValue(), len(planned.Footprint.Containers))
	assert.Equal(t, planned.ServiceAccount, podSpec["serviceAccountName"].StringValue())
	assert.Equal(t, planned.ServiceAccount, at(d.one(t, "kubernetes:core/v1:ServiceAccount"), "metadata", "name").StringValue())
}

// An autoscaled Deployment is described at its autoscaler's maximum, the most pods the quota
// must admit, and declares no claim.
func TestAutoscaledWorkloadCountsTheMaximum(t *testing.T) {
	a := Autoscaled{Deployment: Deployment{Name: "pynomaly-app", Pod: twoContainers, MaxSurge: pulumi.String("25%"),
		DisruptionBudget: OneAtATime}, Scaling: Scaling{MinReplicas: 2, MaxReplicas: 7, TargetCPUUtilization: 70, TargetMemoryUtilization: 80}}
	planned := a.Workload()
	var returned Workload
	d := declare(t, func(ctx *pulumi.Context) error {
		var err error
		_, returned, err = NewAutoscaled(ctx, nil, pulumi.String("ns"), a)
		return err
	})
	assert.Equal(t, planned, returned)
	hpa := d.one(t, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
	assert.Equal(t, float64(planned.Footprint.Pods), at(hpa, "spec", "maxReplicas").NumberValue())
	assert.Zero(t, planned.Footprint.Claims)
	assert.Equal(t, "Deployment", planned.Kind)
}
