// Package starter holds onrecord's starter policy pack: promissory and
// guarantee language, complaints, off-channel requests, possible material
// non-public information, and personal data. They are starting points to
// adapt with your compliance team, not legal advice.
package starter

import (
	"embed"
	"io/fs"

	"github.com/onrecord/onrecord/internal/policy"
)

//go:embed *.yaml
var files embed.FS

// Files returns the pack's policy files.
func Files() []policy.File {
	var out []policy.File
	names, _ := fs.Glob(files, "*.yaml")
	for _, n := range names {
		b, _ := files.ReadFile(n)
		out = append(out, policy.File{Name: n, Text: string(b)})
	}
	return out
}
