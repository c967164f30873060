// Package awsquery owns the AWS Query protocol codec shared by STS and IAM:
// reading a request's Action, Version and parameters from a form body or a
// query string, decoding parameters into typed request structs, and writing
// results and errors in the XML (or JSON) envelopes AWS answers with.
//
// It is a pure library: it sees bytes and url.Values, never an
// http.Request, so the edge packages (stsapi, iamapi) own the HTTP side.
//
// Wire facts this package follows, with where they were observed:
//
//   - Responses carry no XML declaration, are indented by two spaces, end in
//     a newline and use Content-Type text/xml; empty elements are written
//     self-closing (<Description/>). Seen in botocore debug logs of real STS
//     and IAM calls and in a probe suite that pins real STS responses.
//   - Error bodies are <ErrorResponse><Error><Type/><Code/><Message/></Error>
//     <RequestId/></ErrorResponse>; the Message element is absent when AWS has
//     no message (MalformedInput for a non-numeric DurationSeconds).
//     InvalidAction ("Could not find operation X for version Y", with
//     NO_VERSION_SPECIFIED when Version is absent) is answered in the generic
//     namespace http://webservices.amazon.com/AWSFault/2005-15-09, not the
//     service's.
//   - With Accept: application/json the same elements are rendered as JSON:
//     {"XResponse":{"XResult":{…},"ResponseMetadata":{"RequestId":…}}};
//     lists become arrays, numbers and booleans keep their JSON types, and
//     timestamps are epoch seconds. Errors are
//     {"Error":{"Code","Message","Type"},"RequestId":…} (aws-iam-authenticator
//     documents this shape for STS throttling).
//   - IAM returns policy documents percent-encoded per RFC 3986: everything
//     but A–Z a–z 0–9 - . _ ~ becomes %XX with upper-case hex ("*" is %2A,
//     a space %20, a newline %0A).
//   - AWS takes the first of repeated parameters. irsa deliberately differs:
//     a repeated Action, Version or decoded parameter is rejected, so no two
//     readers of one request can disagree about it.
//   - Numbers that do not parse are MalformedInput (an empty one with the
//     message "missing value for decimal type"); "+900" and "0900" parse.
//
// Where AWS redirects instead of answering (no Action at all: a 302 to
// https://aws.amazon.com/iam), this package returns MissingAction and leaves
// the choice to the caller.
package awsquery
