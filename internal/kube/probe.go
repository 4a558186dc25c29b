package kube

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Probe timings. Readiness reacts fast (a pod leaves its Service within ~30 s); liveness waits
// long enough that a slow start or a busy moment never turns into a restart loop.
//
// Readiness and liveness ask different questions, so they are different checks. Readiness asks
// the container's own health check whether it can serve now; that check may look at what the
// container depends on (its database, its backend), and failing it only takes the pod out of
// its Services. Liveness asks whether the container should be restarted: where the software has
// no liveness check of its own (Patroni's /liveness, Prometheus' /-/healthy), it is Alive, the
// process still accepting connections, so a dependency's outage never restarts every pod that
// uses it.

// Readiness sets a readiness probe's timings on a check.
func Readiness(check *corev1.ProbeArgs) *corev1.ProbeArgs {
	check.PeriodSeconds, check.TimeoutSeconds, check.FailureThreshold = pulumi.Int(10), pulumi.Int(5), pulumi.Int(3)
	return check
}

// Liveness sets a liveness probe's timings on a check.
func Liveness(check *corev1.ProbeArgs) *corev1.ProbeArgs {
	check.InitialDelaySeconds, check.PeriodSeconds, check.TimeoutSeconds, check.FailureThreshold =
		pulumi.Int(30), pulumi.Int(20), pulumi.Int(5), pulumi.Int(6)
	return check
}

// Alive is the liveness probe of a container that serves on port: it still accepts connections.
func Alive(port int) *corev1.ProbeArgs { return Liveness(TCPSocket(port)) }

// HTTPGet checks that path answers 2xx or 3xx on port.
func HTTPGet(path string, port int) *corev1.ProbeArgs {
	return &corev1.ProbeArgs{HttpGet: &corev1.HTTPGetActionArgs{Path: pulumi.String(path), Port: pulumi.Int(port)}}
}

// HTTPSGet is HTTPGet over TLS (the kubelet does not verify the certificate).
func HTTPSGet(path string, port int) *corev1.ProbeArgs {
	return &corev1.ProbeArgs{HttpGet: &corev1.HTTPGetActionArgs{
		Path: pulumi.String(path), Port: pulumi.Int(port), Scheme: pulumi.String("HTTPS"),
	}}
}

// TCPSocket checks that port accepts connections.
func TCPSocket(port int) *corev1.ProbeArgs {
	return &corev1.ProbeArgs{TcpSocket: &corev1.TCPSocketActionArgs{Port: pulumi.Int(port)}}
}

// Exec checks that command exits 0.
func Exec(command ...string) *corev1.ProbeArgs {
	return &corev1.ProbeArgs{Exec: &corev1.ExecActionArgs{Command: pulumi.ToStringArray(command)}}
}
