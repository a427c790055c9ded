package crypt

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBucketName_UsesUTCDay(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	for _, tc := range []struct {
		class string
		at    time.Time
		want  string
	}{
		{"general", time.Date(2025, 1, 2, 23, 59, 59, 999999999, time.UTC), "general/2025-01-02"},
		{"general", time.Date(2025, 1, 3, 0, 0, 0, 0, time.UTC), "general/2025-01-03"},
		{"comms-7y", time.Date(2025, 1, 3, 8, 0, 0, 0, tokyo), "comms-7y/2025-01-02"}, // 23:00 UTC the day before
		{"a_b", time.Date(1999, 12, 31, 12, 0, 0, 0, time.UTC), "a_b/1999-12-31"},
	} {
		if got := BucketName(tc.class, tc.at); got != tc.want {
			t.Errorf("BucketName(%q, %s) = %q, want %q", tc.class, tc.at, got, tc.want)
		}
	}
}

func TestParseBucket_AcceptsOnlyCanonicalNames(t *testing.T) {
	long := strings.Repeat("a", MaxClassLen)
	for _, tc := range []struct {
		name    string
		ok      bool
		class   string
		wantDay time.Time
	}{
		{"general/2025-01-02", true, "general", time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)},
		{long + "/2024-02-29", true, long, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"x-y_z9/0001-01-01", true, "x-y_z9", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{long + "a/2024-02-29", false, "", time.Time{}},
		{"/2025-01-02", false, "", time.Time{}},
		{"general", false, "", time.Time{}},
		{"general/", false, "", time.Time{}},
		{"General/2025-01-02", false, "", time.Time{}},
		{"../2025-01-02", false, "", time.Time{}},
		{"gen/eral/2025-01-02", false, "", time.Time{}},
		{"general/2025-01-02/..", false, "", time.Time{}},
		{"general/2025-1-2", false, "", time.Time{}},
		{"general/2025-02-30", false, "", time.Time{}},
		{"general/2023-02-29", false, "", time.Time{}},
		{"general/2025-01-02 ", false, "", time.Time{}},
		{"general/2025-01-02T00:00:00Z", false, "", time.Time{}},
		{"gen eral/2025-01-02", false, "", time.Time{}},
		{"général/2025-01-02", false, "", time.Time{}},
		{"general\x00/2025-01-02", false, "", time.Time{}},
	} {
		class, day, err := ParseBucket(tc.name)
		if !tc.ok {
			if err == nil {
				t.Errorf("ParseBucket(%q) accepted a malformed name", tc.name)
			} else if !errors.Is(err, ErrBadBucket) {
				t.Errorf("ParseBucket(%q) error %v does not wrap ErrBadBucket", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseBucket(%q): %v", tc.name, err)
			continue
		}
		if class != tc.class || !day.Equal(tc.wantDay) || day.Location() != time.UTC {
			t.Errorf("ParseBucket(%q) = %q, %s; want %q, %s UTC", tc.name, class, day, tc.class, tc.wantDay)
		}
	}
}

func FuzzParseBucket(f *testing.F) {
	for _, s := range []string{"general/2025-01-02", "a/0000-01-01", "../etc/passwd", "x/2025-13-01", "", "/", "a/b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		class, day, err := ParseBucket(name)
		if err != nil {
			return
		}
		// Whatever parses is canonical and safe as a path element pair.
		if got := BucketName(class, day); got != name {
			t.Fatalf("ParseBucket(%q) then BucketName = %q", name, got)
		}
		if strings.ContainsAny(class, "./\\\x00") {
			t.Fatalf("class %q could escape the keystore directory", class)
		}
	})
}

func TestBucketName_MatchesTimeFormat(t *testing.T) {
	for _, ts := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 23, 23, 59, 59, 0, time.FixedZone("EST", -5*3600)),
		time.Date(2262, 4, 11, 0, 0, 0, 0, time.UTC),
		time.Date(1677, 9, 22, 0, 0, 0, 0, time.UTC),
	} {
		if got, want := BucketName("c", ts), "c/"+ts.UTC().Format("2006-01-02"); got != want {
			t.Errorf("BucketName(%v) = %s, want %s", ts, got, want)
		}
	}
}
