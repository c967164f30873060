// Package stsapi owns STS on the wire: it decodes each Query action into
// the STS service's input, calls the service, and returns the result in
// AWS's XML shape; the dispatch table says which actions need a signature.
package stsapi
