package kube

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/sizing"
)

// Container is one container of a pod, in plain values. Every container the platform runs is
// built from one, so each gets the locked-down security context and its requests and limits.
type Container struct {
	Name, Image string
	Command     []string
	Env         corev1.EnvVarArray
	EnvFrom     corev1.EnvFromSourceArray
	// Ports are named: Services, scrape targets and network policies refer to them by name.
	Ports     []Port
	Resources Resources
	// WritableRoot is for images that write under their root filesystem; the seed asks for
	// read-only roots "where possible", so it is the exception.
	WritableRoot bool
	// UID, when set, is the user and group this container runs as instead of the pod's: a
	// sidecar whose image runs as anyone, next to a server whose image needs its own user.
	UID                                         int
	StartupProbe, ReadinessProbe, LivenessProbe *corev1.ProbeArgs
	Lifecycle                                   *corev1.LifecycleArgs
	Mounts                                      corev1.VolumeMountArray
	// pullPolicy is the stack's imagePullPolicy (StackRules), set when the template is built.
	pullPolicy string
}

// Resources are a container's requests and limits (see package sizing).
type Resources = sizing.Resources

// Port is a named container port.
type Port struct {
	Name string
	Port int
}

// Script is a container that runs a shell script with -e (stop at the first failure).
func Script(shell, script string) []string { return []string{shell, "-ec", script} }

func (c Container) args() *corev1.ContainerArgs {
	a := &corev1.ContainerArgs{
		Name:            pulumi.String(c.Name),
		Image:           pulumi.String(c.Image),
		Env:             c.Env,
		EnvFrom:         c.EnvFrom,
		Resources:       resources(c.Resources),
		SecurityContext: containerSecurity(!c.WritableRoot, c.UID),
		StartupProbe:    c.StartupProbe,
		ReadinessProbe:  c.ReadinessProbe,
		LivenessProbe:   c.LivenessProbe,
		Lifecycle:       c.Lifecycle,
		VolumeMounts:    c.Mounts,
	}
	if c.pullPolicy != "" {
		a.ImagePullPolicy = pulumi.String(c.pullPolicy)
	}
	if len(c.Command) > 0 {
		a.Command = pulumi.ToStringArray(c.Command)
	}
	if len(c.Ports) > 0 {
		ports := corev1.ContainerPortArray{}
		for _, p := range c.Ports {
			ports = append(ports, &corev1.ContainerPortArgs{Name: pulumi.String(p.Name), ContainerPort: pulumi.Int(p.Port)})
		}
		a.Ports = ports
	}
	return a
}

// containerSecurity drops every capability and forbids privilege escalation; with the pod's
// context it meets Pod Security "restricted". uid, when not 0, overrides the pod's user and group.
func containerSecurity(readOnlyRoot bool, uid int) *corev1.SecurityContextArgs {
	sc := &corev1.SecurityContextArgs{
		AllowPrivilegeEscalation: pulumi.Bool(false),
		ReadOnlyRootFilesystem:   pulumi.Bool(readOnlyRoot),
		RunAsNonRoot:             pulumi.Bool(true),
		Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
		SeccompProfile:           &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
	}
	if uid != 0 {
		sc.RunAsUser, sc.RunAsGroup = pulumi.Int(uid), pulumi.Int(uid)
	}
	return sc
}

// resources is a container's requests and limits as the pod spec writes them.
func resources(r Resources) *corev1.ResourceRequirementsArgs {
	return &corev1.ResourceRequirementsArgs{
		Requests: pulumi.StringMap{
			"cpu": pulumi.String(r.CPURequest), "memory": pulumi.String(r.MemoryRequest),
			"ephemeral-storage": pulumi.String(r.EphemeralStorageRequest),
		},
		Limits: pulumi.StringMap{
			"cpu": pulumi.String(r.CPULimit), "memory": pulumi.String(r.MemoryLimit),
			"ephemeral-storage": pulumi.String(r.EphemeralStorageLimit),
		},
	}
}

// Env is a plain environment variable.
func Env(name, value string) *corev1.EnvVarArgs {
	return &corev1.EnvVarArgs{Name: pulumi.String(name), Value: pulumi.String(value)}
}

// EnvOutput is an environment variable whose value another resource produces (a host name).
func EnvOutput(name string, value pulumi.StringInput) *corev1.EnvVarArgs {
	return &corev1.EnvVarArgs{Name: pulumi.String(name), Value: value}
}

// SecretEnv is an environment variable read from a Secret: the pod spec names the Secret and
// key, never the value.
func SecretEnv(name string, secret pulumi.StringInput, key string) *corev1.EnvVarArgs {
	return secretEnv(name, secret, key, nil)
}

// OptionalSecretEnv is SecretEnv for a key the pod may start without (the kubelet otherwise
// waits for it): one that something other than the program writes.
func OptionalSecretEnv(name string, secret pulumi.StringInput, key string) *corev1.EnvVarArgs {
	return secretEnv(name, secret, key, pulumi.Bool(true))
}

func secretEnv(name string, secret pulumi.StringInput, key string, optional pulumi.BoolPtrInput) *corev1.EnvVarArgs {
	return &corev1.EnvVarArgs{
		Name: pulumi.String(name),
		ValueFrom: &corev1.EnvVarSourceArgs{SecretKeyRef: &corev1.SecretKeySelectorArgs{
			Name: secret, Key: pulumi.String(key), Optional: optional,
		}},
	}
}

// FieldEnv is an environment variable from the pod's own fields (its name, IP, namespace).
func FieldEnv(name, fieldPath string) *corev1.EnvVarArgs {
	return &corev1.EnvVarArgs{
		Name:      pulumi.String(name),
		ValueFrom: &corev1.EnvVarSourceArgs{FieldRef: &corev1.ObjectFieldSelectorArgs{FieldPath: pulumi.String(fieldPath)}},
	}
}

// EnvFromConfigMap makes every key of a ConfigMap an environment variable.
func EnvFromConfigMap(name pulumi.StringInput) corev1.EnvFromSourceArray {
	return corev1.EnvFromSourceArray{&corev1.EnvFromSourceArgs{ConfigMapRef: &corev1.ConfigMapEnvSourceArgs{Name: name}}}
}

// Mount mounts a volume read-write; ReadOnlyMount read-only.
func Mount(name, path string) *corev1.VolumeMountArgs {
	return &corev1.VolumeMountArgs{Name: pulumi.String(name), MountPath: pulumi.String(path)}
}

func ReadOnlyMount(name, path string) *corev1.VolumeMountArgs {
	return &corev1.VolumeMountArgs{Name: pulumi.String(name), MountPath: pulumi.String(path), ReadOnly: pulumi.Bool(true)}
}
