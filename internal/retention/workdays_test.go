package retention

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
)

func TestFederalHolidays_MatchOPMSchedule(t *testing.T) {
	f, err := os.Open("testdata/holidays_2026.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			want = append(want, l)
		}
	}
	got := FederalHolidays(2026)
	if len(got) != len(want) {
		t.Fatalf("%d holidays, want %d", len(got), len(want))
	}
	for i, h := range got {
		if s := h.Date.Format(time.DateOnly) + " " + h.Name; s != want[i] {
			t.Errorf("holiday %d = %q, want %q", i, s, want[i])
		}
	}
}

func TestFederalHolidays_ObservedRules(t *testing.T) {
	tests := []struct {
		year       int
		name, date string
	}{
		{2022, "New Year's Day", "2021-12-31"}, // Saturday → Friday before, in the year before
		{2023, "New Year's Day", "2023-01-02"}, // Sunday → Monday
		{2027, "Independence Day", "2027-07-05"},
		{2021, "Juneteenth National Independence Day", "2021-06-18"},
		{2020, "Juneteenth National Independence Day", ""}, // not yet a holiday
		{2024, "Thanksgiving Day", "2024-11-28"},
		{2025, "Memorial Day", "2025-05-26"},
	}
	for _, tt := range tests {
		found := ""
		for _, h := range FederalHolidays(tt.year) {
			if h.Name == tt.name {
				found = h.Date.Format(time.DateOnly)
			}
		}
		if found != tt.date {
			t.Errorf("%d %s = %q, want %q", tt.year, tt.name, found, tt.date)
		}
	}
}

func TestAddWorkingDays(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	tests := []struct {
		received string
		n        int
		due      string
	}{
		// Received Monday 2 Nov 2026; 20 working days skip Veterans Day
		// (Wed 11 Nov) and Thanksgiving (Thu 26 Nov).
		{"2026-11-02T15:00:00", 20, "2026-12-02"},
		// Received on a Friday: the next working day is Monday.
		{"2026-11-20T09:00:00", 1, "2026-11-23"},
		// Received on a holiday late in the evening: still that date.
		{"2026-12-25T23:30:00", 1, "2026-12-28"},
		// 31 Dec 2021 was the observed New Year's Day of 2022.
		{"2021-12-30T10:00:00", 1, "2022-01-03"},
		{"2026-06-18T10:00:00", 1, "2026-06-22"},
		{"2026-06-18T10:00:00", 0, "2026-06-18"},
	}
	for _, tt := range tests {
		rcv, err := time.ParseInLocation("2006-01-02T15:04:05", tt.received, ny)
		if err != nil {
			t.Fatal(err)
		}
		due, err := AddWorkingDays(rcv, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		if got := due.Format(time.DateOnly); got != tt.due || due.Location() != ny || due.Hour() != 23 {
			t.Errorf("%s + %d working days = %s, want end of %s", tt.received, tt.n, due, tt.due)
		}
	}
	if _, err := AddWorkingDays(time.Now(), -1); err == nil {
		t.Error("negative days accepted")
	}
}
