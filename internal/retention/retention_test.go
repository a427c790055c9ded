package retention

import (
	"errors"
	"testing"
	"time"

	"github.com/onrecord/onrecord/internal/config"
)

func TestCheckDisposal(t *testing.T) {
	p := Policy{Classes: map[string]config.Retention{
		"short": {Days: 30}, "long": {Years: 6}, "capstone": {Permanent: true},
	}}
	day := time.Date(2020, 1, 10, 0, 0, 0, 0, time.UTC)
	holds := NewHolds()
	if err := holds.Apply(Hold{ID: "h1", Action: "create", Classes: []string{"long"}, From: "2020-01-01", To: "2020-01-31", At: day}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, bucket string
		now          time.Time
		want         error
		wantOK       bool
	}{
		{"expired short", "short/2020-01-10", day.AddDate(0, 0, 32), nil, true},
		{"short, last day not yet over", "short/2020-01-10", day.AddDate(0, 0, 30).Add(12 * time.Hour), ErrRetained, false},
		{"long not expired", "long/2020-02-10", day.AddDate(1, 0, 0), ErrRetained, false},
		{"long expired but held", "long/2020-01-10", day.AddDate(7, 0, 0), ErrHeld, false},
		{"long expired outside the hold's range", "long/2020-02-10", day.AddDate(7, 0, 0), nil, true},
		{"permanent", "capstone/2020-01-10", day.AddDate(100, 0, 0), ErrRetained, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckDisposal(p, holds, tt.bucket, tt.now, nil)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if err := CheckDisposal(p, holds, "unknown/2020-01-10", day.AddDate(50, 0, 0), nil); err == nil {
		t.Fatal("unknown class was disposable")
	}
	if err := holds.Apply(Hold{ID: "h1", Action: "release", At: day}); err != nil {
		t.Fatal(err)
	}
	if err := CheckDisposal(p, holds, "long/2020-01-10", day.AddDate(7, 0, 0), nil); err != nil {
		t.Fatalf("released hold still blocks: %v", err)
	}
}

func TestHolds_ApplyRules(t *testing.T) {
	h := NewHolds()
	steps := []struct {
		hold    Hold
		wantErr bool
	}{
		{Hold{ID: "a", Action: "create"}, false},
		{Hold{ID: "a", Action: "create"}, true},
		{Hold{ID: "b", Action: "release"}, true},
		{Hold{ID: "", Action: "create"}, true},
		{Hold{ID: "c", Action: "create", From: "2020-02-01", To: "2020-01-01"}, true},
		{Hold{ID: "d", Action: "create", From: "20-1-1"}, true},
		{Hold{ID: "a", Action: "delete"}, true},
		{Hold{ID: "a", Action: "release"}, false},
	}
	for i, s := range steps {
		if err := h.Apply(s.hold); (err != nil) != s.wantErr {
			t.Fatalf("step %d %+v: err = %v", i, s.hold, err)
		}
	}
	if n := len(h.Active()); n != 0 {
		t.Fatalf("%d holds active, want 0", n)
	}
}

func TestParseBucket(t *testing.T) {
	for _, ok := range []string{"default/2026-11-23", "sec17a4/2020-02-29"} {
		if _, _, err := ParseBucket(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "default", "default/2026-13-01", "Bad/2026-01-01", "/2026-01-01", "a/b/2026-01-01"} {
		if _, _, err := ParseBucket(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if got := BucketName("default", time.Date(2026, 11, 23, 23, 59, 0, 0, time.FixedZone("x", -5*3600))); got != "default/2026-11-24" {
		t.Errorf("BucketName = %s (must use the UTC day)", got)
	}
}
