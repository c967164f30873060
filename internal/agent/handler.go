package agent

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// CredentialsPath is the one path SDKs call.
const CredentialsPath = "/v1/credentials"

// Defaults of the request limiter, the EKS agent's.
const (
	DefaultRequestRate  = 1000
	DefaultRequestBurst = 500
)

// Source gives the credentials for a token; *Cache is one.
type Source interface {
	// Fresh returns credentials it holds for the token, nil when it has
	// none that can be handed out without further thought: the fast path,
	// taken before the token is parsed.
	Fresh(token string) *Credentials
	// Credentials returns credentials for the token whose unverified
	// claims are tok.
	Credentials(ctx context.Context, token string, tok *Token) (*Credentials, error)
}

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	Source Source
	// AllowedHosts are the hosts (IP literals, without port or brackets) the
	// Host header may name: the bound addresses.
	AllowedHosts []string
	// RequestRate and RequestBurst limit the requests answered; above, 429.
	// Defaults when zero.
	RequestRate  float64
	RequestBurst int
	// Now is the clock the token's times are checked against.
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics *Metrics
}

// Handler serves GET /v1/credentials; any other path is 404 (the probes
// rely on it).
type Handler struct {
	cfg     HandlerConfig
	allowed []string
	limiter *rate.Limiter
	log     *slog.Logger
	mux     *http.ServeMux
}

// NewHandler returns the credentials endpoint.
func NewHandler(cfg HandlerConfig) *Handler {
	if cfg.RequestRate == 0 {
		cfg.RequestRate = DefaultRequestRate
	}
	if cfg.RequestBurst == 0 {
		cfg.RequestBurst = DefaultRequestBurst
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, limiter: rate.NewLimiter(rate.Limit(cfg.RequestRate), cfg.RequestBurst), log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	for _, a := range cfg.AllowedHosts {
		h.allowed = append(h.allowed, hostOf(a))
	}
	h.mux = http.NewServeMux()
	h.mux.Handle("GET "+CredentialsPath, cfg.Metrics.instrument(http.HandlerFunc(h.credentials)))
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// containerCredentials is the document the SDKs' container providers read.
type containerCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	AccountID       string `json:"AccountId,omitempty"`
	Expiration      string `json:"Expiration"`
}

func (h *Handler) credentials(w http.ResponseWriter, r *http.Request) {
	if !h.limiter.Allow() {
		writeError(w, http.StatusTooManyRequests, "ThrottlingException", "Too Many Requests")
		return
	}
	host := hostOf(r.Host)
	if !slices.Contains(h.allowed, host) {
		writeError(w, http.StatusForbidden, "AccessDeniedException",
			"Access Denied. Called agent through invalid address, please use either ["+strings.Join(h.allowed, " ")+"] address not "+sanitize(host, 256))
		return
	}
	// The header is the raw token file; a trailing newline written by a
	// person is tolerated.
	raw := strings.TrimSpace(r.Header.Get("Authorization"))
	if raw == "" {
		writeError(w, http.StatusBadRequest, "InvalidTokenException", "Service account token cannot be empty")
		return
	}
	if creds := h.cfg.Source.Fresh(raw); creds != nil {
		h.writeCredentials(w, creds)
		return
	}
	tok, err := ParseToken(raw)
	if err == nil {
		err = tok.CheckTime(h.cfg.Now())
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidTokenException", err.Error())
		return
	}
	creds, err := h.cfg.Source.Credentials(r.Context(), raw, tok)
	if err != nil {
		status, code, msg := h.errorOf(err)
		if status >= 500 {
			h.log.Warn("credential request failed", "token", TokenID(raw), "namespace", tok.Namespace,
				"service_account", tok.ServiceAccount, "pod", tok.PodName, "status", status, "error", err)
		} else {
			h.log.Info("credential request refused", "token", TokenID(raw), "namespace", tok.Namespace,
				"service_account", tok.ServiceAccount, "pod", tok.PodName, "status", status, "code", code)
		}
		writeError(w, status, code, msg)
		return
	}
	h.writeCredentials(w, creds)
}

func (h *Handler) writeCredentials(w http.ResponseWriter, creds *Credentials) {
	body, err := json.Marshal(containerCredentials{
		AccessKeyID:     creds.AccessKeyID,
		SecretAccessKey: creds.SecretAccessKey,
		Token:           creds.SessionToken,
		AccountID:       creds.AccountID,
		Expiration:      creds.Expiration.UTC().Format(time.RFC3339),
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalServerException", "cannot encode the credentials")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// errorOf maps a Source error to the answer: EKS Auth's status and code,
// 429 for the agent's own upstream limit, 500 otherwise.
func (h *Handler) errorOf(err error) (status int, code, msg string) {
	var ue *UpstreamError
	var de *decodeError
	switch {
	case errors.As(err, &ue):
		status = ue.Status
		if status < 400 || status > 599 {
			status = http.StatusInternalServerError
		}
		msg = ue.Message
		if ue.RequestID != "" {
			msg = "[" + ue.RequestID + "]: " + msg
		}
		return status, ue.Code, msg
	case errors.Is(err, ErrThrottled):
		return http.StatusTooManyRequests, "ThrottlingException", err.Error()
	case errors.As(err, &de):
		return http.StatusInternalServerError, "InternalServerException", "EKS Auth answered with a document the agent cannot read"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusInternalServerError, "ServiceUnavailableException", "EKS Auth did not answer in time"
	default:
		return http.StatusInternalServerError, "ServiceUnavailableException", "EKS Auth cannot be reached; see the agent's log"
	}
}

// writeError answers the JSON error document the SDKs decode.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	body, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// hostOf strips the port and the IPv6 brackets from a Host header and
// writes an IP address in its canonical form.
func hostOf(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.Trim(h, "[]")
	if a, err := netip.ParseAddr(h); err == nil && a.Zone() == "" {
		return a.Unmap().String()
	}
	return h
}
