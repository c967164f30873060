// Package config owns irsa's declarative file: the YAML schema of OIDC
// providers, managed policies and roles (unknown keys are errors), its
// validation, reporting every problem at once, and its idempotent
// application through the IAM service.
package config
