package webhook

import (
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The AdmissionReview versions the handler answers. Their request and
// response bodies have the same JSON shape, so both decode into the v1
// types; the response echoes the version the API server sent.
const (
	admissionV1      = "admission.k8s.io/v1"
	admissionV1beta1 = "admission.k8s.io/v1beta1"
	admissionKind    = "AdmissionReview"
)

// requestError is an admission request the handler refuses at the HTTP
// level: the API server treats it as a failed call, so the webhook's
// failurePolicy decides, instead of a denial that would block the pod.
type requestError struct {
	status  int
	message string
}

func (e *requestError) Error() string { return e.message }

func badRequest(format string, args ...any) *requestError {
	return &requestError{status: 400, message: fmt.Sprintf(format, args...)}
}

// decodeReview parses an AdmissionReview and checks what every answer
// depends on: a known apiVersion and kind, a request, and its UID.
func decodeReview(body []byte) (*admissionv1.AdmissionReview, error) {
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil {
		return nil, badRequest("malformed AdmissionReview: %v", err)
	}
	switch review.APIVersion {
	case admissionV1, admissionV1beta1:
	case "":
		return nil, badRequest("AdmissionReview has no apiVersion; want %s or %s", admissionV1, admissionV1beta1)
	default:
		return nil, badRequest("unsupported AdmissionReview apiVersion %q; want %s or %s", review.APIVersion, admissionV1, admissionV1beta1)
	}
	if review.Kind != admissionKind {
		return nil, badRequest("kind is %q, not %s", review.Kind, admissionKind)
	}
	if review.Request == nil {
		return nil, badRequest("AdmissionReview has no request")
	}
	if review.Request.UID == "" {
		return nil, badRequest("AdmissionReview request has no uid")
	}
	return &review, nil
}

// isPodCreate reports whether the request creates a pod (not one of its
// subresources); other requests are allowed without a patch.
func isPodCreate(req *admissionv1.AdmissionRequest) bool {
	return req.Operation == admissionv1.Create &&
		req.Kind.Group == "" && req.Kind.Kind == "Pod" &&
		req.Resource.Group == "" && req.Resource.Resource == "pods" &&
		req.SubResource == ""
}

// decodePod reads the pod of a CREATE request.
func decodePod(req *admissionv1.AdmissionRequest) (*corev1.Pod, error) {
	if len(req.Object.Raw) == 0 {
		return nil, badRequest("AdmissionReview request has no object")
	}
	var pod corev1.Pod
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		return nil, badRequest("request object is not a Pod: %v", err)
	}
	return &pod, nil
}

// encodeResponse renders the AdmissionReview answering review, in the same
// apiVersion and kind.
func encodeResponse(review *admissionv1.AdmissionReview, resp *admissionv1.AdmissionResponse) ([]byte, error) {
	resp.UID = review.Request.UID
	return json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: review.APIVersion, Kind: review.Kind},
		Response: resp,
	})
}

// allow is an allowed response with the patch, if any, and warnings.
func allow(patch []byte, warnings []string) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{Allowed: true, Warnings: warnings}
	if len(patch) > 0 {
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch = patch
		resp.PatchType = &pt
	}
	return resp
}
