package awserr

// Codes of EKS and EKS Auth that the Query APIs do not have. The shared
// ones (InvalidParameterException, ResourceNotFoundException, …) are in
// awserr.go.
const (
	// ServerException is EKS's 500 (EKS Auth says InternalServerException).
	ServerException = "ServerException"
	// ClientException is EKS's generic 400.
	ClientException = "ClientException"
	// BadRequestException and NotFoundException are the errors of EKS's
	// TagResource, UntagResource and ListTagsForResource.
	BadRequestException = "BadRequestException"
	NotFoundException   = "NotFoundException"
)

func init() {
	table[ServerException] = entry{500}
	table[ClientException] = entry{400}
	table[BadRequestException] = entry{400}
	table[NotFoundException] = entry{404}
}

// EKSAuthAccessDenied is EKS Auth's AccessDeniedException, which its model
// answers with 400 (EKS's own AccessDeniedException is 403).
func EKSAuthAccessDenied(message string) *Error {
	return New(AccessDeniedException, message).WithStatus(400)
}
