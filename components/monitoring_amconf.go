package components

import "github.com/pynomaly/pynomaly-platform/config"

// alertmanagerSecretsDir is where the receivers' Secret is mounted.
const alertmanagerSecretsDir = "/etc/alertmanager/secrets"

// AlertmanagerConf is alertmanager.yml: alerts grouped per alert and target, a critical alert
// silencing the warnings of the same pod, every alert to Slack, e-mail and the webhook where
// configured and critical ones also to PagerDuty. Slack's URL, PagerDuty's key and the SMTP
// password are read from the mounted receivers' Secret's files. The webhook's URL (empty: no
// webhook) is written in, since the pinned Alertmanager's url_file is newer than the amtool
// that checks this file: the file is therefore a Secret. Without receivers the alerts are kept
// in Alertmanager (its UI and API) and sent nowhere.
func AlertmanagerConf(r config.AlertReceivers, webhookURL string) string {
	type route struct {
		Receiver       string   `yaml:"receiver"`
		Matchers       []string `yaml:"matchers,flow,omitempty"`
		Continue       bool     `yaml:"continue,omitempty"`
		GroupBy        []string `yaml:"group_by,flow,omitempty"`
		GroupWait      string   `yaml:"group_wait,omitempty"`
		GroupInterval  string   `yaml:"group_interval,omitempty"`
		RepeatInterval string   `yaml:"repeat_interval,omitempty"`
		Routes         []route  `yaml:"routes,omitempty"`
	}
	type slack struct {
		APIURLFile   string `yaml:"api_url_file"`
		Channel      string `yaml:"channel"`
		SendResolved bool   `yaml:"send_resolved"`
		Title        string `yaml:"title"`
		Text         string `yaml:"text"`
	}
	type pagerduty struct {
		RoutingKeyFile string `yaml:"routing_key_file"`
		SendResolved   bool   `yaml:"send_resolved"`
	}
	type email struct {
		To               string `yaml:"to"`
		From             string `yaml:"from"`
		Smarthost        string `yaml:"smarthost"`
		AuthUsername     string `yaml:"auth_username,omitempty"`
		AuthPasswordFile string `yaml:"auth_password_file,omitempty"`
		SendResolved     bool   `yaml:"send_resolved"`
	}
	type webhook struct {
		URL          string `yaml:"url"`
		SendResolved bool   `yaml:"send_resolved"`
	}
	type receiver struct {
		Name      string      `yaml:"name"`
		Webhook   []webhook   `yaml:"webhook_configs,omitempty"`
		Slack     []slack     `yaml:"slack_configs,omitempty"`
		PagerDuty []pagerduty `yaml:"pagerduty_configs,omitempty"`
		Email     []email     `yaml:"email_configs,omitempty"`
	}
	type inhibitRule struct {
		SourceMatchers []string `yaml:"source_matchers,flow"`
		TargetMatchers []string `yaml:"target_matchers,flow"`
		Equal          []string `yaml:"equal,flow"`
	}
	secret := func(key string) string { return alertmanagerSecretsDir + "/" + key }
	def := receiver{Name: "default"}
	if r.SlackChannel != "" {
		def.Slack = []slack{{
			APIURLFile: secret(config.SlackURLKey), Channel: r.SlackChannel, SendResolved: true,
			Title: `[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}`,
			Text:  `{{ range .Alerts }}{{ .Annotations.summary }} ({{ .Annotations.runbook_url }}){{ "\n" }}{{ end }}`,
		}}
	}
	if webhookURL != "" {
		def.Webhook = []webhook{{URL: webhookURL, SendResolved: true}}
	}
	if e := r.Email; e.To != "" {
		m := email{To: e.To, From: e.From, Smarthost: e.Smarthost, SendResolved: true}
		if e.Username != "" {
			m.AuthUsername, m.AuthPasswordFile = e.Username, secret(config.SMTPPasswordKey)
		}
		def.Email = []email{m}
	}
	top := route{
		Receiver: "default", GroupBy: []string{"alertname", "namespace", "pod"},
		GroupWait: "30s", GroupInterval: "5m", RepeatInterval: "4h",
	}
	receivers := []receiver{def}
	if r.PagerDuty {
		receivers = append(receivers, receiver{Name: "pager", PagerDuty: []pagerduty{{
			RoutingKeyFile: secret(config.PagerDutyRoutingKeyKey), SendResolved: true,
		}}})
		// Critical alerts page, and still reach the default receivers.
		top.Routes = []route{{Receiver: "pager", Matchers: []string{"severity=" + SeverityCritical}, Continue: true}}
		if def.Slack != nil || def.Email != nil || def.Webhook != nil {
			top.Routes = append(top.Routes, route{Receiver: "default", Matchers: []string{"severity=" + SeverityCritical}})
		}
	}
	return marshalYAML(struct {
		Route        route         `yaml:"route"`
		Receivers    []receiver    `yaml:"receivers"`
		InhibitRules []inhibitRule `yaml:"inhibit_rules"`
	}{
		Route:     top,
		Receivers: receivers,
		InhibitRules: []inhibitRule{{
			SourceMatchers: []string{"severity=" + SeverityCritical},
			TargetMatchers: []string{"severity=" + SeverityWarning},
			Equal:          []string{"namespace", "pod"},
		}},
	})
}
