package alerthook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/irsa-dev/irsa/internal/audit"
)

// maxWebhookBackoff bounds the wait between two attempts.
const maxWebhookBackoff = 30 * time.Second

// Webhook posts notifications as JSON to a URL, retrying failed
// deliveries. Its URL may hold a secret (many chat webhooks do): it is
// never logged nor put in an error; errors name the host only.
type Webhook struct {
	URL string
	// Client sends the requests; http.DefaultClient's transport with no
	// redirects followed when nil.
	Client *http.Client
	// Timeout bounds each attempt; audit.DefaultWebhookTimeout when zero.
	Timeout time.Duration
	// Retries is how many times a failed delivery is tried again
	// (connection errors, 408, 429 and 5xx answers); negative means none,
	// zero audit.DefaultWebhookRetries.
	Retries int
	// Backoff is the wait before the first retry, doubled before each
	// next one (at most 30 s); audit.DefaultWebhookBackoff when zero.
	Backoff time.Duration
}

// NewWebhook checks the URL (http or https, with a host) and returns a
// Webhook with the given client and tuning.
func NewWebhook(rawURL string, client *http.Client, timeout time.Duration, retries int) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("alerthook: the webhook URL must be an http:// or https:// URL with a host")
	}
	return &Webhook{URL: rawURL, Client: client, Timeout: timeout, Retries: retries}, nil
}

// permanentError is a delivery the receiver refused for good.
type permanentError struct{ error }

// Notify posts n, retrying as configured, and returns the last failure
// when no attempt succeeded. ctx bounds the whole delivery.
func (w *Webhook) Notify(ctx context.Context, n audit.Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("alerthook: webhook payload: %w", err)
	}
	retries := w.Retries
	switch {
	case retries == 0:
		retries = audit.DefaultWebhookRetries
	case retries < 0:
		retries = 0
	}
	backoff := w.Backoff
	if backoff <= 0 {
		backoff = audit.DefaultWebhookBackoff
	}
	for attempt := 0; ; attempt++ {
		err = w.post(ctx, body)
		var perm permanentError
		if err == nil || errors.As(err, &perm) || attempt >= retries {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (then: %v)", err, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, maxWebhookBackoff)
	}
}

// host is what errors say of the URL.
func (w *Webhook) host() string {
	if u, err := url.Parse(w.URL); err == nil {
		return u.Host
	}
	return "the webhook"
}

func (w *Webhook) post(ctx context.Context, body []byte) error {
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = audit.DefaultWebhookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return permanentError{fmt.Errorf("alerthook: webhook at %s: bad request", w.host())}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "irsa-audit-alerts/"+audit.NotificationVersion)
	client := w.Client
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error names the whole URL: say only the host.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("alerthook: webhook at %s: %w", w.host(), err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("alerthook: webhook at %s answered %s", w.host(), resp.Status)
	}
	return permanentError{fmt.Errorf("alerthook: webhook at %s refused the alert: %s", w.host(), resp.Status)}
}
