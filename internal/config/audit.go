package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/irsa-dev/irsa/internal/audit"
)

// Audit configures the audit trail's alerts in a running server: the
// thresholds of the built-in rules (see `irsa audit alerts`), how often
// the server runs them, and the webhook it posts each new alert to.
// Durations are Go durations ("30s", "1h"). Every field is optional.
//
//	audit:
//	  alertInterval: 30s
//	  allowedCidrs: [10.0.0.0/8]
//	  webhookUrl: https://hooks.example.com/irsa
type Audit struct {
	// AlertInterval is how often the server runs the rules; default 30s,
	// "0s" turns the server's alerts off.
	AlertInterval string `yaml:"alertInterval"`
	// Since: how far back the cross-namespace, outside-cidr and
	// token-replay rules look; default 24h.
	Since string `yaml:"since"`
	// AllowedCIDRs are the networks roles may be assumed from (CIDRs or
	// single addresses); none turns the outside-cidr rule off.
	AllowedCIDRs []string `yaml:"allowedCidrs"`
	// Window, BaselineWindows, Sigma and MinCount tune the volume-anomaly
	// rule; defaults 1h, 24, 3 and 20.
	Window          string  `yaml:"window"`
	BaselineWindows int     `yaml:"baselineWindows"`
	Sigma           float64 `yaml:"sigma"`
	MinCount        int     `yaml:"minCount"`
	// MaxEvents bounds the recent events the server keeps in memory for
	// the rules; default 200000.
	MaxEvents int `yaml:"maxEvents"`
	// WebhookURL receives a JSON POST for each alert that starts firing.
	// It may hold a secret: irsa never logs it.
	WebhookURL string `yaml:"webhookUrl"`
	// WebhookTimeout bounds each delivery attempt (default 5s);
	// WebhookRetries is how many times a failed one is retried (default 3,
	// -1 for none).
	WebhookTimeout string `yaml:"webhookTimeout"`
	WebhookRetries int    `yaml:"webhookRetries"`
}

// AlertSettings are the typed values of an Audit section.
type AlertSettings struct {
	// Interval 0 means the server runs no alert rules.
	Interval       time.Duration
	Rules          audit.Rules
	MaxEvents      int
	WebhookURL     string
	WebhookTimeout time.Duration
	WebhookRetries int
}

// DefaultAlertSettings are the settings of a file without an audit
// section.
func DefaultAlertSettings() AlertSettings {
	return AlertSettings{Interval: audit.DefaultMonitorInterval, Rules: audit.DefaultRules(), MaxEvents: audit.DefaultMonitorMaxEvents,
		WebhookTimeout: audit.DefaultWebhookTimeout, WebhookRetries: audit.DefaultWebhookRetries}
}

// Settings checks the section and returns its typed values, defaults
// filled in; every problem is reported, joined. A nil section gives the
// defaults.
func (a *Audit) Settings() (AlertSettings, error) {
	s := DefaultAlertSettings()
	if a == nil {
		return s, nil
	}
	var errs []error
	duration := func(field, v string, dst *time.Duration, allowZero bool) {
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("audit.%s: %q is not a duration such as 30s or 1h", field, v))
		case d < 0 || (d == 0 && !allowZero):
			errs = append(errs, fmt.Errorf("audit.%s must be positive, got %s", field, v))
		default:
			*dst = d
		}
	}
	duration("alertInterval", a.AlertInterval, &s.Interval, true)
	duration("since", a.Since, &s.Rules.Since, false)
	duration("window", a.Window, &s.Rules.Window, false)
	duration("webhookTimeout", a.WebhookTimeout, &s.WebhookTimeout, false)
	if s.Interval > 0 && s.Interval < time.Second {
		errs = append(errs, fmt.Errorf("audit.alertInterval must be at least 1s (or 0s to turn the alerts off), got %s", a.AlertInterval))
	}
	for i, c := range a.AllowedCIDRs {
		p, err := audit.ParseNetwork(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("audit.allowedCidrs[%d]: %q is not a CIDR or an address", i, c))
			continue
		}
		s.Rules.AllowedCIDRs = append(s.Rules.AllowedCIDRs, p)
	}
	switch {
	case a.BaselineWindows < 0:
		errs = append(errs, fmt.Errorf("audit.baselineWindows must be at least 1, got %d", a.BaselineWindows))
	case a.BaselineWindows > 0:
		s.Rules.BaselineWindows = a.BaselineWindows
	}
	switch {
	case a.Sigma < 0:
		errs = append(errs, fmt.Errorf("audit.sigma must be positive, got %g", a.Sigma))
	case a.Sigma > 0:
		s.Rules.Sigma = a.Sigma
	}
	switch {
	case a.MinCount < 0:
		errs = append(errs, fmt.Errorf("audit.minCount must be at least 1, got %d", a.MinCount))
	case a.MinCount > 0:
		s.Rules.MinCount = a.MinCount
	}
	switch {
	case a.MaxEvents < 0:
		errs = append(errs, fmt.Errorf("audit.maxEvents must be at least 1, got %d", a.MaxEvents))
	case a.MaxEvents > 0:
		s.MaxEvents = a.MaxEvents
	}
	switch {
	case a.WebhookRetries < -1 || a.WebhookRetries > 10:
		errs = append(errs, fmt.Errorf("audit.webhookRetries must be between -1 (none) and 10, got %d", a.WebhookRetries))
	case a.WebhookRetries != 0:
		s.WebhookRetries = a.WebhookRetries
	}
	if a.WebhookURL != "" {
		// The URL may hold a secret: the error does not repeat it.
		if u, err := url.Parse(a.WebhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, errors.New("audit.webhookUrl must be an http:// or https:// URL with a host"))
		} else {
			s.WebhookURL = a.WebhookURL
		}
	}
	if err := errors.Join(errs...); err != nil {
		return AlertSettings{}, err
	}
	return s, nil
}

// Validate reports every problem of the section, joined.
func (a *Audit) Validate() error {
	_, err := a.Settings()
	return err
}
