package monitoring

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
	def := amDefaultReceiver(r, webhookURL)
	top := amRoute{
		Receiver: def.Name, GroupBy: []string{"alertname", "namespace", "pod"},
		GroupWait: "30s", GroupInterval: "5m", RepeatInterval: "4h",
	}
	receivers := []amReceiver{def}
	if r.PagerDuty {
		receivers = append(receivers, amReceiver{Name: "pager", PagerDuty: []amPagerDuty{{
			RoutingKeyFile: amSecret(config.PagerDutyRoutingKeyKey), SendResolved: true,
		}}})
		// Critical alerts page, and still reach the default receivers.
		critical := []string{"severity=" + SeverityCritical}
		top.Routes = []amRoute{{Receiver: "pager", Matchers: critical, Continue: true}}
		if def.Slack != nil || def.Email != nil || def.Webhook != nil {
			top.Routes = append(top.Routes, amRoute{Receiver: def.Name, Matchers: critical})
		}
	}
	return marshalYAML(struct {
		Route        amRoute         `yaml:"route"`
		Receivers    []amReceiver    `yaml:"receivers"`
		InhibitRules []amInhibitRule `yaml:"inhibit_rules"`
	}{
		Route:     top,
		Receivers: receivers,
		InhibitRules: []amInhibitRule{{
			SourceMatchers: []string{"severity=" + SeverityCritical},
			TargetMatchers: []string{"severity=" + SeverityWarning},
			Equal:          []string{"namespace", "pod"},
		}},
	})
}

// amDefaultReceiver is the receiver every alert goes to: Slack, the webhook and e-mail, each
// where configured (none: the alerts stay in Alertmanager).
func amDefaultReceiver(r config.AlertReceivers, webhookURL string) amReceiver {
	def := amReceiver{Name: "default"}
	if r.SlackChannel != "" {
		def.Slack = []amSlack{{
			APIURLFile: amSecret(config.SlackURLKey), Channel: r.SlackChannel, SendResolved: true,
			Title: `[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}`,
			Text:  `{{ range .Alerts }}{{ .Annotations.summary }} ({{ .Annotations.runbook_url }}){{ "\n" }}{{ end }}`,
		}}
	}
	if webhookURL != "" {
		def.Webhook = []amWebhook{{URL: webhookURL, SendResolved: true}}
	}
	if e := r.Email; e.To != "" {
		m := amEmail{To: e.To, From: e.From, Smarthost: e.Smarthost, SendResolved: true}
		if e.Username != "" {
			m.AuthUsername, m.AuthPasswordFile = e.Username, amSecret(config.SMTPPasswordKey)
		}
		def.Email = []amEmail{m}
	}
	return def
}

// amSecret is the file of a key of the mounted receivers' Secret.
func amSecret(key string) string { return alertmanagerSecretsDir + "/" + key }

// The parts of alertmanager.yml the program writes, in Alertmanager's field names.
type (
	amRoute struct {
		Receiver       string    `yaml:"receiver"`
		Matchers       []string  `yaml:"matchers,flow,omitempty"`
		Continue       bool      `yaml:"continue,omitempty"`
		GroupBy        []string  `yaml:"group_by,flow,omitempty"`
		GroupWait      string    `yaml:"group_wait,omitempty"`
		GroupInterval  string    `yaml:"group_interval,omitempty"`
		RepeatInterval string    `yaml:"repeat_interval,omitempty"`
		Routes         []amRoute `yaml:"routes,omitempty"`
	}
	amReceiver struct {
		Name      string        `yaml:"name"`
		Webhook   []amWebhook   `yaml:"webhook_configs,omitempty"`
		Slack     []amSlack     `yaml:"slack_configs,omitempty"`
		PagerDuty []amPagerDuty `yaml:"pagerduty_configs,omitempty"`
		Email     []amEmail     `yaml:"email_configs,omitempty"`
	}
	amSlack struct {
		APIURLFile   string `yaml:"api_url_file"`
		Channel      string `yaml:"channel"`
		SendResolved bool   `yaml:"send_resolved"`
		Title        string `yaml:"title"`
		Text         string `yaml:"text"`
	}
	amPagerDuty struct {
		RoutingKeyFile string `yaml:"routing_key_file"`
		SendResolved   bool   `yaml:"send_resolved"`
	}
	amEmail struct {
		To               string `yaml:"to"`
		From             string `yaml:"from"`
		Smarthost        string `yaml:"smarthost"`
		AuthUsername     string `yaml:"auth_username,omitempty"`
		AuthPasswordFile string `yaml:"auth_password_file,omitempty"`
		SendResolved     bool   `yaml:"send_resolved"`
	}
	amWebhook struct {
		URL          string `yaml:"url"`
		SendResolved bool   `yaml:"send_resolved"`
	}
	amInhibitRule struct {
		SourceMatchers []string `yaml:"source_matchers,flow"`
		TargetMatchers []string `yaml:"target_matchers,flow"`
		Equal          []string `yaml:"equal,flow"`
	}
)
