// Package eksapi owns the REST JSON edge of EKS (pod identity associations,
// clusters, tags) and EKS Auth (AssumeRoleForPodIdentity): it matches a
// request's method and path to an action, decodes the JSON body and the
// path and query members, authorizes the caller, calls the podidentity
// service, and encodes the result or the error the way the AWS clients
// expect (X-Amzn-ErrorType and a {"message": …} body). Authentication and
// the audit trail are the app's; this package gives the app the audit view
// of a request (parameters without the token, results without secrets).
package eksapi
