// Package storetest owns the conformance suite of the persistence contract:
// Run drives any store.Store backend through every aggregate and fails the
// test where the backend departs from the contract, so that SQLite,
// PostgreSQL and any later backend behave the same for the code above them.
//
// The suite pins down the parts of the contract that store.go leaves to
// prose:
//
//   - Lists: a list field that is empty comes back nil, whether it was
//     stored as nil or as an empty slice (the same holds for byte slices).
//     Other lists keep the order they were given in, except
//     Role.InlinePolicies, which come back sorted by name (byte order).
//   - Times come back in UTC, truncated to the microsecond; a zero time
//     stays zero.
//   - Version: Create stores version 1 whatever the record says; every
//     successful Update adds one, and the value fn leaves in Version is
//     ignored.
//   - Update runs fn on a fresh copy of the stored record inside one
//     transaction. When fn returns an error nothing is written and that
//     error is returned (errors.Is finds it). fn may not change the key of
//     the record (account and name of a role; account and ARN of an OIDC
//     provider; account, ARN and name of a managed policy): doing so is an
//     error and nothing is written. The record Update returns is the one a
//     Get would return next. A concurrent writer makes Update either wait
//     for it or fail with store.ErrConflict; an update is never lost.
//   - Keys: roles by account and lower-cased name; managed policies by ARN,
//     and their names are unique within an account ignoring case, as IAM
//     requires; OIDC providers by ARN; access keys by ID, across accounts.
//   - List order: accounts by ID; access keys by CreatedAt then ID; OIDC
//     providers by ARN; roles and managed policies by lower-cased name;
//     signing and sealing keys by CreatedAt then ID.
//   - Path prefixes are plain, case-sensitive string prefixes of Path, with
//     no wildcard characters; the empty prefix matches every path.
//   - Records handed to or returned by the store share no memory with it.
package storetest
