package eksapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// Error codes of the REST JSON services that the Query codes in awserr do
// not spell the same way.
const (
	UnrecognizedClientException         = "UnrecognizedClientException"
	InvalidSignatureException           = "InvalidSignatureException"
	IncompleteSignatureException        = "IncompleteSignatureException"
	MissingAuthenticationTokenException = "MissingAuthenticationTokenException"
)

// decodeBody reads a JSON object into v. An empty body is an empty
// object. Members the shape does not have are ignored, as EKS ignores
// them; a body that is not one JSON object, or a member of the wrong type,
// is InvalidRequestException.
func decodeBody(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return awserr.Newf(awserr.InvalidRequestException, "The member %s has the wrong type: expected %s.", te.Field, jsonKind(te.Type.Kind().String()))
		}
		return awserr.New(awserr.InvalidRequestException, "The request body is not a valid JSON object.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return awserr.New(awserr.InvalidRequestException, "The request body is not a valid JSON object.")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	}
	return "a number"
}

// Encode is the JSON body of a result.
func Encode(result any) ([]byte, error) {
	if result == nil {
		result = EmptyResult{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(result); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// WriteResult answers 200 with the JSON body b.
func WriteResult(w http.ResponseWriter, requestID string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-amzn-RequestId", requestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// errorBody is the rest-json error document. EKS names the cluster in
// the errors of cluster-scoped calls.
type errorBody struct {
	Message     string `json:"message"`
	ClusterName string `json:"clusterName,omitempty"`
}

// clusterNamed are the EKS error shapes with a clusterName member.
var clusterNamed = map[string]bool{
	awserr.ResourceNotFoundException:      true,
	awserr.InvalidParameterException:      true,
	awserr.InvalidRequestException:        true,
	awserr.ResourceInUseException:         true,
	awserr.ResourceLimitExceededException: true,
	awserr.ServerException:                true,
}

// WriteError answers e (see WireError) with its status, the
// X-Amzn-ErrorType header the AWS clients read the code from, and a
// {"message": …} body. clusterName, when not empty, is added to the EKS
// shapes that carry it.
func WriteError(w http.ResponseWriter, requestID, service string, e *awserr.Error, clusterName string) {
	body := errorBody{Message: e.Message}
	if service == ServiceEKS && clusterNamed[e.Code] {
		body.ClusterName = clusterName
	}
	b, err := Encode(body)
	if err != nil {
		b = []byte(`{"message":""}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-amzn-RequestId", requestID)
	h.Set("X-Amzn-ErrorType", e.Code)
	w.WriteHeader(e.Status())
	_, _ = w.Write(b)
}

// WireError is err as service answers it: the Query protocol's codes of
// the shared layers (signature checks, authorization, STS) become the
// REST JSON services' codes, with the status of service's model (EKS
// Auth's AccessDeniedException is 400, EKS's 403). A code outside the
// service's model becomes InvalidRequestException (client errors) or the
// service's internal error. Any error that is not an *awserr.Error is the
// internal error; its cause is kept for the log, never rendered.
func WireError(service string, err error) *awserr.Error {
	e := awserr.As(err)
	if e.Code == awserr.ExpiredToken {
		// The signing session expired (not the service-account token,
		// whose expiry the domain reports as ExpiredTokenException, 400).
		return (&awserr.Error{Code: awserr.ExpiredTokenException, Message: e.Message, Cause: e.Cause}).WithStatus(http.StatusForbidden)
	}
	code := e.Code
	if c, ok := queryCodes[code]; ok {
		code = c
	}
	status, ok := statuses[code]
	switch {
	case code == awserr.AccessDeniedException && service == ServiceEKSAuth:
		status = http.StatusBadRequest
	case code == awserr.ServerException && service == ServiceEKSAuth:
		code, status = awserr.InternalServerException, http.StatusInternalServerError
	case code == awserr.InternalServerException && service == ServiceEKS:
		code, status = awserr.ServerException, http.StatusInternalServerError
	case !ok || !inModel(service, code):
		if e.Status() >= 500 {
			code, status = awserr.ServerException, http.StatusInternalServerError
			if service == ServiceEKSAuth {
				code = awserr.InternalServerException
			}
		} else {
			code, status = awserr.InvalidRequestException, http.StatusBadRequest
		}
	}
	if code == e.Code && status == e.Status() {
		return e
	}
	return (&awserr.Error{Code: code, Message: e.Message, Cause: e.Cause}).WithStatus(status)
}

// queryCodes are the Query protocol's codes (awserr) of the layers the
// REST JSON services share with STS and IAM, and what these services
// answer instead.
var queryCodes = map[string]string{
	awserr.InternalFailure:            awserr.ServerException,
	awserr.ServiceFailure:             awserr.ServerException,
	awserr.InvalidClientTokenID:       UnrecognizedClientException,
	awserr.SignatureDoesNotMatch:      InvalidSignatureException,
	awserr.RequestExpired:             InvalidSignatureException, // "Signature expired: …"
	awserr.IncompleteSignature:        IncompleteSignatureException,
	awserr.MissingAuthenticationToken: MissingAuthenticationTokenException,
	awserr.AccessDenied:               awserr.AccessDeniedException,
	awserr.InvalidIdentityToken:       awserr.InvalidTokenException,
	awserr.IDPCommunicationError:      awserr.ServiceUnavailableException, // the cluster's keys could not be fetched: worth a retry
	awserr.ServiceUnavailable:         awserr.ServiceUnavailableException,
	awserr.Throttling:                 awserr.ThrottlingException,

	awserr.ValidationError:             awserr.InvalidParameterException,
	awserr.InvalidParameterValue:       awserr.InvalidParameterException,
	awserr.InvalidParameterCombination: awserr.InvalidParameterException,
	awserr.MissingParameter:            awserr.InvalidParameterException,
	awserr.InvalidInput:                awserr.InvalidParameterException,
	awserr.MalformedPolicyDocument:     awserr.InvalidParameterException,
	awserr.PackedPolicyTooLarge:        awserr.InvalidParameterException,
	awserr.NoSuchEntity:                awserr.ResourceNotFoundException,
}

// statuses are the HTTP statuses of the REST JSON codes (EKS's model; EKS
// Auth differs only for AccessDeniedException).
var statuses = map[string]int{
	awserr.InvalidParameterException:      400,
	awserr.InvalidRequestException:        400,
	awserr.ResourceNotFoundException:      404,
	awserr.ResourceInUseException:         409,
	awserr.ResourceLimitExceededException: 400,
	awserr.AccessDeniedException:          403,
	awserr.InvalidTokenException:          400,
	awserr.ExpiredTokenException:          400,
	awserr.ThrottlingException:            429,
	awserr.InternalServerException:        500,
	awserr.ServiceUnavailableException:    503,
	awserr.ServerException:                500,
	awserr.BadRequestException:            400,
	awserr.NotFoundException:              404,
	awserr.ClientException:                400,
	UnrecognizedClientException:           403,
	InvalidSignatureException:             403,
	IncompleteSignatureException:          400,
	MissingAuthenticationTokenException:   403,
	UnknownOperationException:             404,
}

// inModel reports whether code is one of service's errors, or a protocol
// error every AWS service answers.
func inModel(service, code string) bool {
	switch code {
	case UnrecognizedClientException, InvalidSignatureException, IncompleteSignatureException,
		MissingAuthenticationTokenException, UnknownOperationException,
		awserr.InvalidParameterException, awserr.InvalidRequestException, awserr.ResourceNotFoundException,
		awserr.AccessDeniedException, awserr.ServiceUnavailableException:
		return true
	}
	if service == ServiceEKSAuth {
		switch code {
		case awserr.InvalidTokenException, awserr.ExpiredTokenException, awserr.ThrottlingException, awserr.InternalServerException:
			return true
		}
		return false
	}
	switch code {
	case awserr.ServerException, awserr.ResourceInUseException, awserr.ResourceLimitExceededException,
		awserr.BadRequestException, awserr.NotFoundException, awserr.ClientException:
		return true
	}
	return false
}
