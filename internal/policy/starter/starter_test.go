package starter

import (
	"testing"

	"github.com/onrecord/onrecord/internal/policy"
)

func TestStarterPackCompiles(t *testing.T) {
	fs := Files()
	if len(fs) < 5 {
		t.Fatalf("%d files", len(fs))
	}
	set, err := policy.Compile(fs)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Rules()) < 8 {
		t.Fatalf("%d rules", len(set.Rules()))
	}
}
