// Command irsa is the single binary of the project: it owns nothing but the
// process entry point, handing its arguments, standard streams and build
// version to internal/cli and exiting with the code that package returns.
package main
