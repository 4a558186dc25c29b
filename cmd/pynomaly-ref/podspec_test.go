package main

// The pods of the app tier as the program declares them: the config tier's ConfigMap, the
// migration Job, the API and worker Deployments, rendered under a mocked Pulumi engine from
// the components themselves (wired as platform/tiers.go wires them), so that the tests run the
// reference with exactly the argv, environment, ports and user the platform gives it.

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/app"
	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/redis"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// The hosts the rendered ConfigMap and pods name, which the tests map to their servers.
const (
	poolerHost     = "pooler.test"
	primaryHost    = "primary.test"
	redisQueueHost = "redis-queue.test"
	redisCacheHost = "redis-cache.test"
	// sentinelMaster is the queue's primary's name with Sentinels (the rendered TLS stack).
	sentinelMaster = "pynomaly-redis-queue"
)

type k8sProbe struct {
	HTTPGet *struct {
		Path string `json:"path"`
		Port int    `json:"port"`
	} `json:"httpGet"`
	TCPSocket *struct {
		Port int `json:"port"`
	} `json:"tcpSocket"`
}

type k8sEnv struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	ValueFrom *struct {
		SecretKeyRef *struct{ Name, Key string } `json:"secretKeyRef"`
	} `json:"valueFrom"`
}

type k8sContainer struct {
	Name    string   `json:"name"`
	Command []string `json:"command"`
	Args    []string `json:"args"`
	Env     []k8sEnv `json:"env"`
	EnvFrom []struct {
		ConfigMapRef *struct{ Name string } `json:"configMapRef"`
	} `json:"envFrom"`
	Ports []struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
	} `json:"ports"`
	StartupProbe   *k8sProbe `json:"startupProbe"`
	ReadinessProbe *k8sProbe `json:"readinessProbe"`
	LivenessProbe  *k8sProbe `json:"livenessProbe"`
	VolumeMounts   []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
		ReadOnly  bool   `json:"readOnly"`
	} `json:"volumeMounts"`
	SecurityContext struct {
		ReadOnlyRootFilesystem bool `json:"readOnlyRootFilesystem"`
	} `json:"securityContext"`
}

type k8sPod struct {
	Metadata struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		SecurityContext struct {
			RunAsUser  int `json:"runAsUser"`
			RunAsGroup int `json:"runAsGroup"`
		} `json:"securityContext"`
		InitContainers []k8sContainer `json:"initContainers"`
		Containers     []k8sContainer `json:"containers"`
		Volumes        []struct {
			Name     string `json:"name"`
			EmptyDir any    `json:"emptyDir"`
		} `json:"volumes"`
	} `json:"spec"`
}

// main is the pod's application container (the one that is not an init container).
func (p k8sPod) main(t *testing.T) k8sContainer {
	t.Helper()
	if len(p.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want the application's alone", len(p.Spec.Containers))
	}
	return p.Spec.Containers[0]
}

// appPods are the rendered app tier of one stack.
type appPods struct {
	ConfigMapName          string
	ConfigMap              map[string]string
	API, Worker, Migration k8sPod
	settings               *config.Settings
}

// recorder is the mocked engine: it keeps every resource's inputs and names auto-named ones.
type recorder struct {
	mu        sync.Mutex
	resources map[string]resource.PropertyMap // by type and metadata.name (or logical name)
}

func (m *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	state := args.Inputs.Copy()
	name := args.Name
	if state.HasValue("metadata") {
		meta := state["metadata"].ObjectValue().Copy()
		if !meta.HasValue("name") {
			meta["name"] = resource.NewProperty(args.Name + "-0000000")
		}
		state["metadata"] = resource.NewProperty(meta)
		name = meta["name"].StringValue()
	}
	m.mu.Lock()
	m.resources[args.TypeToken+"/"+name] = state
	m.mu.Unlock()
	return args.Name + "-id", state, nil
}

func (m *recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("unexpected invoke %s", args.Token)
}

// renderApp declares the config tier, the migration, the API and the workers of the dev stack,
// with internal TLS on or off, and with Sentinels in front of the queue when sentinel is set.
func renderApp(t *testing.T, s *config.Settings, tls, sentinel bool) appPods {
	t.Helper()
	rec := &recorder{resources: map[string]resource.PropertyMap{}}
	queue := redis.Endpoint{Port: redis.Port}
	if sentinel {
		queue = redis.Endpoint{Port: 26379, SentinelMaster: sentinelMaster}
	}
	cache := redis.Endpoint{Port: redis.Port}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		// The stack's rules, as the platform resolves them for every tier.
		ctx = kube.WithStackRules(ctx, kube.StackRules{PullPolicy: s.Images.PullPolicy})
		shared := tier.Context{Namespace: pulumi.String("pynomaly-data-science"), TLS: tls}
		queue.Host, cache.Host = pulumi.String(redisQueueHost).ToStringOutput(), pulumi.String(redisCacheHost).ToStringOutput()
		cfg, err := app.NewConfig(ctx, "config", &app.ConfigArgs{
			Context: shared, Environment: string(s.Environment), LogLevel: s.LogLevel,
			DatabaseHost: pulumi.String(poolerHost), Queue: queue, Cache: cache,
			InfluxDBURL: pulumi.String("http://influxdb.test:8086"),
		})
		if err != nil {
			return err
		}
		env := app.Env{
			ConfigMap: cfg.ConfigMapName, PostgresSecret: pulumi.String(credentials.PostgresSecretName),
			RedisSecret: pulumi.String(credentials.RedisSecretName), InfluxDBTokenSecret: pulumi.String(influxdb.AppTokenSecret),
			Generations:         credentials.Generations{PostgresApp: testGeneration, Redis: testGeneration},
			PostgresClientImage: s.Images.PostgresClient, RedisImage: s.Images.Redis,
			ModelClaim: pulumi.String("pynomaly-models"),
		}
		if _, err := app.NewMigration(ctx, "migration", &app.MigrationArgs{
			Context: shared, Image: s.Images.API, Env: env, PrimaryHost: pulumi.String(primaryHost).ToStringOutput(),
		}); err != nil {
			return err
		}
		if _, err := app.NewAPI(ctx, "api", &app.APIArgs{
			Context: shared, Settings: s.API, Image: s.Images.API, Env: env, APISecret: pulumi.String(credentials.APISecretName),
		}); err != nil {
			return err
		}
		_, err = app.NewWorker(ctx, "worker", &app.WorkerArgs{Context: shared, Settings: s.Worker, Image: s.Images.Worker, Env: env})
		return err
	}, pulumi.WithMocks("pynomaly-platform", "dev", rec))
	if err != nil {
		t.Fatal(err)
	}
	return rec.app(t, s)
}

func (m *recorder) app(t *testing.T, s *config.Settings) appPods {
	t.Helper()
	a := appPods{settings: s}
	for key, state := range m.resources {
		if strings.HasPrefix(key, "kubernetes:core/v1:ConfigMap/pynomaly-app-config") {
			a.ConfigMapName = strings.TrimPrefix(key, "kubernetes:core/v1:ConfigMap/")
			decode(t, state["data"], &a.ConfigMap)
		}
	}
	for _, w := range []struct {
		key string
		pod *k8sPod
	}{
		{"kubernetes:apps/v1:Deployment/" + app.APIName, &a.API},
		{"kubernetes:apps/v1:Deployment/" + app.WorkerName, &a.Worker},
		{"kubernetes:batch/v1:Job/" + app.MigrationJobName, &a.Migration},
	} {
		state, ok := m.resources[w.key]
		if !ok {
			t.Fatalf("%s was not declared", w.key)
		}
		decode(t, state["spec"].ObjectValue()["template"], w.pod)
	}
	if a.ConfigMap == nil {
		t.Fatal("no app ConfigMap declared")
	}
	return a
}

// decode turns a resolved input into a Go value, through JSON.
func decode(t *testing.T, v resource.PropertyValue, into any) {
	t.Helper()
	b, err := json.Marshal(v.Mappable())
	if err == nil {
		err = json.Unmarshal(b, into)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// env is the environment a container of the pod gets: the ConfigMap's keys (envFrom), then
// its own variables, secret references resolved through secrets (by key).
func (a appPods) env(t *testing.T, c k8sContainer, secrets map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil || from.ConfigMapRef.Name != a.ConfigMapName {
			t.Fatalf("%s: envFrom %+v is not the app ConfigMap %s", c.Name, from, a.ConfigMapName)
		}
		for k, v := range a.ConfigMap {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			v, ok := secrets[e.ValueFrom.SecretKeyRef.Key]
			if !ok {
				t.Fatalf("%s: %s comes from %s/%s, which the test does not provide", c.Name, e.Name,
					e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
			}
			env[e.Name] = v
		default:
			t.Fatalf("%s: %s has a source the test does not know", c.Name, e.Name)
		}
	}
	return env
}
