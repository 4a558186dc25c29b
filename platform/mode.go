package platform

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/config/load"
)

// Where a stack's objects are: applied to a cluster, or rendered to manifest files.
const (
	modeCluster = "cluster"
	modeRender  = "render"
)

// previousDeployment is the logical name of the stack's reference to itself.
const previousDeployment = "previous-deployment"

// guardMode refuses to move a deployed stack between a cluster and rendering unless
// kubernetes.allowModeChange says that is meant. Either way the provider is replaced, and with
// it every object: the engine deletes each one from where the stack was (a cluster's whole
// namespace, or the rendered files) and creates it where it goes. A render run on the stack
// that deployed dev once emptied the dev cluster this way.
//
// The mode of the last deployment is read from the stack's own outputs (a StackReference to
// itself: reading it changes nothing, and previews show it as a read): renderedManifests is
// exported only in render mode, namespace by every deployment. A new or destroyed stack has
// neither and may go anywhere. The check runs before the provider is declared, so a refused
// preview has planned nothing.
func (p *Platform) guardMode(ctx *pulumi.Context, k config.Kubernetes) error {
	self := ctx.Organization() + "/" + ctx.Project() + "/" + ctx.Stack()
	ref, err := pulumi.NewStackReference(ctx, previousDeployment, &pulumi.StackReferenceArgs{
		Name: pulumi.String(self),
	}, pulumi.Parent(p))
	if err != nil {
		return fmt.Errorf("reading the previous deployment's outputs: %w", err)
	}
	// The read resolves in previews too; awaiting it here (the SDK's synchronous await) keeps the
	// provider, and so every object, undeclared until the check has passed.
	res, err := internals.UnsafeAwaitOutput(ctx.Context(), ref.Outputs)
	if err != nil {
		return fmt.Errorf("reading the previous deployment's outputs (stack %s): %w", self, err)
	}
	previous, _ := res.Value.(map[string]any)
	if err := modeChange(p.settings.Project, previous, k); err != nil {
		return err
	}
	return rotationStep(p.settings, previous)
}

// generationsOutput is the stack output with the credentials' generations.
const generationsOutput = "credentialGenerations"

// rotationStep refuses a rotation that is not one step from the last deployment: a generation
// raised by two would replace the password every client still holds (its slot's next value) at
// once, an outage; one lowered would bring back a retired password. A stack deployed before
// rotation existed is at generation 0.
func rotationStep(s *config.Settings, previous map[string]any) error {
	if previous["namespace"] == nil {
		return nil
	}
	was, _ := previous[generationsOutput].(map[string]any)
	for _, c := range []struct {
		field string
		now   int
	}{{"postgresApp", s.PostgresAppGeneration()}, {"redis", s.RedisGeneration()}} {
		before := 0
		if n, ok := was[c.field].(float64); ok {
			before = int(n)
		}
		if c.now == before || c.now == before+1 {
			continue
		}
		return &load.SettingError{
			Key: s.Project + ":secrets.rotation", Value: fmt.Sprintf("%s generation %d", c.field, c.now),
			Allowed: fmt.Sprintf("must be %d (as deployed) or %d (one rotation): each pulumi up moves a credential "+
				"one generation, so every client holds a valid password throughout (the counters add up: all plus %s)",
				before, before+1, c.field),
		}
	}
	return nil
}

// modeChange is the rule of guardMode: nil, or the SettingError that explains the refusal.
func modeChange(project string, previous map[string]any, k config.Kubernetes) error {
	was := ""
	switch {
	case previous["renderedManifests"] != nil:
		was = modeRender
	case previous["namespace"] != nil:
		was = modeCluster
	}
	now := modeCluster
	if k.RenderYamlToDirectory != "" {
		now = modeRender
	}
	if was == "" || was == now || k.AllowModeChange {
		return nil
	}
	const allow = "kubernetes.allowModeChange true for this one update"
	if now == modeRender {
		return &load.SettingError{
			Key: project + ":kubernetes.renderYamlToDirectory", Value: fmt.Sprintf("%q", k.RenderYamlToDirectory),
			Allowed: "this stack's objects are in a cluster (its last deployment applied them there), and rendering it " +
				"would delete every one of them from that cluster. Render with a stack of its own " +
				"(PYNOMALY_RENDER=1 scripts/quickstart.sh STACK uses STACK-render), or set " + allow + " if that is meant",
		}
	}
	return &load.SettingError{
		Key: project + ":kubernetes.renderYamlToDirectory", Value: `""`,
		Allowed: fmt.Sprintf("this stack rendered its manifests to %v in its last deployment; applying it to a cluster "+
			"would delete those files and create every object anew. Deploy with a stack of its own, or set %s if that is meant",
			previous["renderedManifests"], allow),
	}
}
