package awserr

import (
	"errors"
	"fmt"
)

// Error is an AWS error. Code is AWS's error code (the wire name), Message
// its text. Cause is for logs only and never rendered.
type Error struct {
	Code    string
	Message string
	Cause   error
	// status overrides the table (used for the few codes whose status
	// differs by service, such as EKS Auth's AccessDeniedException).
	status int
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// Status is the HTTP status AWS answers with.
func (e *Error) Status() int {
	if e.status != 0 {
		return e.status
	}
	if s, ok := table[e.Code]; ok {
		return s.status
	}
	return 400
}

// Fault is "Sender" for client errors and "Receiver" for server errors, as
// the Query protocol's <Type> element says.
func (e *Error) Fault() string {
	if e.Status() >= 500 {
		return "Receiver"
	}
	return "Sender"
}

// New returns an error with the given code and message.
func New(code, message string) *Error { return &Error{Code: code, Message: message} }

// Newf formats the message.
func Newf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithStatus returns a copy of e answered with another HTTP status.
func (e *Error) WithStatus(status int) *Error {
	c := *e
	c.status = status
	return &c
}

// Internal wraps an unexpected failure. It renders as InternalFailure with
// no detail; cause is kept for the operator's log.
func Internal(cause error) *Error {
	return &Error{Code: InternalFailure, Message: "An internal error occurred; see the server log for this request ID.", Cause: cause}
}

// As returns err as an *Error. Any other error becomes InternalFailure.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// Codes. The names are AWS's wire names.
const (
	// Common to every Query API.
	AccessDenied                = "AccessDenied"
	IncompleteSignature         = "IncompleteSignature"
	InternalFailure             = "InternalFailure"
	InvalidAction               = "InvalidAction"
	InvalidClientTokenID        = "InvalidClientTokenId"
	InvalidParameterCombination = "InvalidParameterCombination"
	InvalidParameterValue       = "InvalidParameterValue"
	InvalidQueryParameter       = "InvalidQueryParameter"
	MalformedQueryString        = "MalformedQueryString"
	MissingAction               = "MissingAction"
	MissingAuthenticationToken  = "MissingAuthenticationToken"
	MissingParameter            = "MissingParameter"
	RequestExpired              = "RequestExpired"
	ServiceUnavailable          = "ServiceUnavailable"
	SignatureDoesNotMatch       = "SignatureDoesNotMatch"
	Throttling                  = "Throttling"
	ValidationError             = "ValidationError"
	ExpiredToken                = "ExpiredToken"
	OptInRequired               = "OptInRequired"
	MalformedInput              = "MalformedInput"
	RequestEntityTooLarge       = "RequestEntityTooLarge"

	// STS.
	InvalidIdentityToken                 = "InvalidIdentityToken"
	ExpiredTokenException                = "ExpiredTokenException"
	IDPCommunicationError                = "IDPCommunicationError"
	IDPRejectedClaim                     = "IDPRejectedClaim"
	MalformedPolicyDocument              = "MalformedPolicyDocument"
	PackedPolicyTooLarge                 = "PackedPolicyTooLarge"
	RegionDisabledException              = "RegionDisabledException"
	InvalidAuthorizationMessageException = "InvalidAuthorizationMessageException"

	// IAM.
	NoSuchEntity                = "NoSuchEntity"
	EntityAlreadyExists         = "EntityAlreadyExists"
	LimitExceeded               = "LimitExceeded"
	InvalidInput                = "InvalidInput"
	DeleteConflict              = "DeleteConflict"
	ConcurrentModification      = "ConcurrentModification"
	ServiceFailure              = "ServiceFailure"
	UnmodifiableEntity          = "UnmodifiableEntity"
	PolicyNotAttachable         = "PolicyNotAttachable"
	PolicyEvaluation            = "PolicyEvaluation"
	OpenIDIdpCommunicationError = "OpenIdIdpCommunicationError"

	// EKS and EKS Auth (REST JSON).
	InvalidTokenException          = "InvalidTokenException"
	InvalidParameterException      = "InvalidParameterException"
	InvalidRequestException        = "InvalidRequestException"
	AccessDeniedException          = "AccessDeniedException"
	ResourceNotFoundException      = "ResourceNotFoundException"
	ResourceInUseException         = "ResourceInUseException"
	ThrottlingException            = "ThrottlingException"
	InternalServerException        = "InternalServerException"
	ServiceUnavailableException    = "ServiceUnavailableException"
	ResourceLimitExceededException = "ResourceLimitExceededException"
)

type entry struct{ status int }

// table gives each code its HTTP status, as AWS answers it.
var table = map[string]entry{
	AccessDenied:                {403},
	IncompleteSignature:         {400},
	InternalFailure:             {500},
	InvalidAction:               {400},
	InvalidClientTokenID:        {403},
	InvalidParameterCombination: {400},
	InvalidParameterValue:       {400},
	InvalidQueryParameter:       {400},
	MalformedQueryString:        {404},
	MissingAction:               {400},
	MissingAuthenticationToken:  {403},
	MissingParameter:            {400},
	RequestExpired:              {400},
	ServiceUnavailable:          {503},
	SignatureDoesNotMatch:       {403},
	Throttling:                  {400},
	ValidationError:             {400},
	ExpiredToken:                {403},
	OptInRequired:               {403},
	MalformedInput:              {400},
	RequestEntityTooLarge:       {413},

	InvalidIdentityToken:                 {400},
	ExpiredTokenException:                {400},
	IDPCommunicationError:                {400},
	IDPRejectedClaim:                     {403},
	MalformedPolicyDocument:              {400},
	PackedPolicyTooLarge:                 {400},
	RegionDisabledException:              {403},
	InvalidAuthorizationMessageException: {400},

	NoSuchEntity:                {404},
	EntityAlreadyExists:         {409},
	LimitExceeded:               {409},
	InvalidInput:                {400},
	DeleteConflict:              {409},
	ConcurrentModification:      {409},
	ServiceFailure:              {500},
	UnmodifiableEntity:          {400},
	PolicyNotAttachable:         {400},
	PolicyEvaluation:            {500},
	OpenIDIdpCommunicationError: {400},

	InvalidTokenException:          {400},
	InvalidParameterException:      {400},
	InvalidRequestException:        {400},
	AccessDeniedException:          {403},
	ResourceNotFoundException:      {404},
	ResourceInUseException:         {409},
	ThrottlingException:            {429},
	InternalServerException:        {500},
	ServiceUnavailableException:    {503},
	ResourceLimitExceededException: {400},
}
