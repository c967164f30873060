package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
)

// SALookup finds the ServiceAccount a pod runs as. It returns nil, nil when
// the ServiceAccount does not exist; an error means the answer is unknown.
type SALookup interface {
	ServiceAccount(ctx context.Context, namespace, name string) (*ServiceAccount, error)
}

// DefaultMaxRequestBytes bounds an admission request body: the API
// server's own limit on a request body, so any pod it accepted fits.
const DefaultMaxRequestBytes = 3 << 20

// The outcomes a Handler reports to its Metrics, one per request.
const (
	OutcomeMutated     = "mutated"      // a patch was returned (IRSA: web identity)
	OutcomeUnchanged   = "unchanged"    // the role applies and the pod already has everything
	OutcomeNoRole      = "no_role"      // the ServiceAccount has no role-arn annotation and no Pod Identity association
	OutcomeSANotFound  = "sa_not_found" // the ServiceAccount does not exist
	OutcomeLookupError = "lookup_error" // the ServiceAccount could not be read: HTTP 500
	OutcomeIgnored     = "ignored"      // not a pod CREATE: allowed without a patch
	OutcomeInvalid     = "invalid"      // the request was refused with an HTTP 4xx
	OutcomeError       = "error"        // an internal failure: HTTP 500

	// OutcomeMutatedPodIdentity: a patch giving the EKS Pod Identity
	// container credentials was returned.
	OutcomeMutatedPodIdentity = "mutated_pod_identity"
)

// MutationObserver counts admission requests by outcome, one of the
// Outcome constants; the server's metrics implement it.
type MutationObserver interface {
	ObserveMutation(outcome string)
}

// Outcomes lists every outcome a Handler reports, for metrics that
// initialize their labels.
func Outcomes() []string {
	return []string{OutcomeMutated, OutcomeMutatedPodIdentity, OutcomeUnchanged, OutcomeNoRole, OutcomeSANotFound,
		OutcomeLookupError, OutcomeIgnored, OutcomeInvalid, OutcomeError}
}

// Handler answers the API server's AdmissionReview requests for pods on
// /mutate. It is safe for concurrent use.
type Handler struct {
	Config *Config  // mutation settings; nil means all defaults
	Lookup SALookup // required
	// Associations, when set, turns on the EKS Pod Identity mode: a
	// ServiceAccount with an association gets the container credentials.
	Associations AssociationLookup
	Logger       *slog.Logger
	// Metrics, when set, counts each request once by outcome.
	Metrics MutationObserver
	// MaxRequestBytes bounds the request body; 0 means
	// DefaultMaxRequestBytes. Larger bodies get HTTP 413.
	MaxRequestBytes int64
}

var defaultConfig = &Config{}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	body, rerr := h.readBody(w, r)
	if rerr != nil {
		h.refuse(w, log, rerr, "")
		return
	}
	review, err := decodeReview(body)
	if err != nil {
		h.refuse(w, log, err, "")
		return
	}
	resp, outcome, err := h.review(r.Context(), log, review.Request)
	if err != nil {
		h.refuse(w, log, err, string(review.Request.UID))
		return
	}
	out, err := encodeResponse(review, resp)
	if err != nil {
		h.refuse(w, log, fmt.Errorf("encoding AdmissionReview: %w", err), string(review.Request.UID))
		return
	}
	h.report(outcome)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *requestError) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, &requestError{http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed; admission requests are POST", r.Method)}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, &requestError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q not supported; want application/json", r.Header.Get("Content-Type"))}
	}
	limit := h.MaxRequestBytes
	if limit <= 0 {
		limit = DefaultMaxRequestBytes
	}
	tooLarge := &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", limit)}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	var buf []byte
	if r.ContentLength > 0 {
		buf = make([]byte, 0, r.ContentLength+1)
	}
	body, err := readAll(http.MaxBytesReader(w, r.Body, limit), buf)
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, tooLarge
	case err != nil:
		return nil, badRequest("reading request body: %v", err)
	case len(body) == 0:
		return nil, badRequest("empty request body; want an AdmissionReview")
	}
	return body, nil
}

// readAll appends the whole of r to buf.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// review decides the response to one admission request. An error is
// answered at the HTTP level (requestError's status, else 500).
func (h *Handler) review(ctx context.Context, log *slog.Logger, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, string, error) {
	if !isPodCreate(req) {
		return allow(nil, nil), OutcomeIgnored, nil
	}
	pod, err := decodePod(req)
	if err != nil {
		return nil, "", err
	}
	namespace := req.Namespace
	if namespace == "" {
		namespace = pod.Namespace
	}
	saName := pod.Spec.ServiceAccountName
	if saName == "" {
		saName = "default"
	}
	podName := pod.Name
	if podName == "" {
		podName = pod.GenerateName
	}
	attrs := []any{"uid", req.UID, "namespace", namespace, "pod", podName, "serviceAccount", saName}

	if h.Lookup == nil {
		return nil, "", errors.New("webhook handler has no ServiceAccount lookup")
	}
	sa, err := h.Lookup.ServiceAccount(ctx, namespace, saName)
	if err != nil {
		log.Error("service account lookup failed; answering 500 so the webhook's failurePolicy decides", append(attrs, "err", err)...)
		h.report(OutcomeLookupError)
		return nil, "", &lookupError{fmt.Errorf("looking up service account %s/%s: %w", namespace, saName, err)}
	}
	if sa == nil {
		log.Warn("service account not found; pod not mutated", attrs...)
		return allow(nil, []string{fmt.Sprintf("service account %s/%s not found; pod not mutated by the irsa webhook", namespace, saName)}), OutcomeSANotFound, nil
	}

	cfg := h.Config
	if cfg == nil {
		cfg = defaultConfig
	}
	var warnings []string
	if h.Associations != nil {
		found, err := h.Associations.HasAssociation(ctx, namespace, saName)
		switch {
		case err == nil:
			withAssociation := *sa
			withAssociation.PodIdentity = found
			sa = &withAssociation
		case strings.TrimSpace(sa.Annotations[cfg.prefix()+"/"+AnnotationRoleARN]) != "":
			// The role-arn annotation still gives working credentials:
			// an outage of the EKS API does not take them away.
			log.Warn("Pod Identity association lookup failed; using the role-arn annotation (IRSA)", append(attrs, "err", err)...)
			warnings = append(warnings, fmt.Sprintf("the EKS Pod Identity association of service account %s/%s could not be looked up; the role-arn annotation (IRSA) is used", namespace, saName))
		default:
			log.Error("Pod Identity association lookup failed; answering 500 so the webhook's failurePolicy decides", append(attrs, "err", err)...)
			h.report(OutcomeLookupError)
			return nil, "", &lookupError{fmt.Errorf("looking up the Pod Identity association of service account %s/%s: %w", namespace, saName, err)}
		}
	}
	m, err := plan(cfg, pod, sa)
	if err != nil {
		return nil, "", err
	}
	warnings = append(warnings, m.warnings...)
	switch {
	case !m.role:
		log.Debug("service account has no role and no Pod Identity association; pod not mutated", attrs...)
		return allow(nil, warnings), OutcomeNoRole, nil
	case len(m.patch) == 0:
		log.Debug("pod already has the credentials; no patch", append(attrs, "warnings", len(warnings))...)
		return allow(nil, warnings), OutcomeUnchanged, nil
	}
	patch, err := json.Marshal(m.patch)
	if err != nil {
		return nil, "", fmt.Errorf("encoding patch: %w", err)
	}
	outcome := OutcomeMutated
	if m.podIdentity {
		outcome = OutcomeMutatedPodIdentity
	}
	log.Debug("pod mutated", append(attrs, "podIdentity", m.podIdentity, "operations", len(m.patch), "warnings", len(warnings))...)
	return allow(patch, warnings), outcome, nil
}

// lookupError marks a failed ServiceAccount lookup, already reported.
type lookupError struct{ err error }

func (e *lookupError) Error() string { return e.err.Error() }
func (e *lookupError) Unwrap() error { return e.err }

// refuse answers err at the HTTP level: a requestError with its status,
// anything else with 500.
func (h *Handler) refuse(w http.ResponseWriter, log *slog.Logger, err error, uid string) {
	var le *lookupError
	if errors.As(err, &le) {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var re *requestError
	if errors.As(err, &re) {
		log.Warn("admission request refused", "status", re.status, "uid", uid, "err", re.message)
		h.report(OutcomeInvalid)
		http.Error(w, re.message, re.status)
		return
	}
	log.Error("admission request failed", "uid", uid, "err", err)
	h.report(OutcomeError)
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

func (h *Handler) report(outcome string) {
	if h.Metrics != nil {
		h.Metrics.ObserveMutation(outcome)
	}
}
