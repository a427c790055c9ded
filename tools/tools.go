//go:build tools

// Package tools pins the versions of the developer tools that .ci/run
// builds: they live in their own module so that they never become
// dependencies of onrecord itself.
package tools

import (
	_ "github.com/securego/gosec/v2/cmd/gosec"
	_ "golang.org/x/vuln/cmd/govulncheck"
	_ "honnef.co/go/tools/cmd/staticcheck"
)
