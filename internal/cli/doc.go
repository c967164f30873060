// Package cli owns the irsa command line: the cobra command tree, flag
// parsing, reading input files, output formats (text for people, JSON for
// programs) and the mapping of outcomes to process exit codes.
//
// Commands translate between the terminal and the packages that decide;
// they hold no rules of their own. Exit codes are part of the interface:
// 0 success, 1 the input was checked and found invalid, 2 the command was
// used wrongly or an input could not be read, 3 a simulation was denied
// (only with --exit-code).
package cli
