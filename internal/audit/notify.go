package audit

import "time"

// NotificationVersion is the version of the webhook payload's shape.
const NotificationVersion = "1"

// Notification is the JSON body a Webhook posts for one alert that
// started firing.
type Notification struct {
	Version string `json:"version"`
	// Status is "firing": an alert is posted once when it starts, and
	// again only after it has cleared and fires anew.
	Status string `json:"status"`
	// Key identifies the alert across evaluations (see AlertKey).
	Key     string    `json:"key"`
	FiredAt time.Time `json:"firedAt"`
	Alert   Alert     `json:"alert"`
}

// Defaults of the webhook that delivers notifications (package
// alerthook), here so that configuration can name them.
const (
	DefaultWebhookTimeout = 5 * time.Second
	DefaultWebhookRetries = 3
	DefaultWebhookBackoff = time.Second
)
