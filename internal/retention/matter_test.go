package retention

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMatter_DueDatesInWorkingDays(t *testing.T) {
	for _, tc := range []struct {
		name, typ, received, due string
		days                     int
		want                     string
		wantErr                  bool
	}{
		// Received Wednesday 2026-11-25: Thanksgiving (Thu 26th) and the
		// weekends are skipped; 20 working days end on Thursday 2026-12-24.
		{name: "foia over thanksgiving", typ: "foia", received: "2026-11-25", want: "2026-12-24"},
		// Received on a Friday before Christmas and New Year.
		{name: "foia over the holidays", typ: "foia", received: "2026-12-18", want: "2027-01-20"},
		{name: "48 hours as 2 working days", typ: "exam", received: "2026-12-04", days: 2, want: "2026-12-08"},
		{name: "explicit due date", typ: "subpoena", received: "2026-12-01", due: "2027-01-15", want: "2027-01-15"},
		{name: "subpoena without a limit", typ: "subpoena", received: "2026-12-01", wantErr: true},
		{name: "bad date", typ: "foia", received: "12/01/2026", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewMatter("M", tc.typ, "", tc.received, "America/New_York", tc.days, tc.due)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("accepted: due %v", m.Due)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Due.Format("2006-01-02"); got != tc.want {
				t.Fatalf("due %s, want %s", got, tc.want)
			}
		})
	}
}

func TestMatter_WorkingDaysLeftAndReplay(t *testing.T) {
	m, err := NewMatter("FOIA-1", "foia", "Emails about the merger", "2026-11-25", "America/New_York", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	if n := m.WorkingDaysLeft(time.Date(2026, 11, 25, 12, 0, 0, 0, ny)); n != 20 {
		t.Fatalf("on receipt: %d working days left, want 20", n)
	}
	if n := m.WorkingDaysLeft(time.Date(2026, 12, 24, 9, 0, 0, 0, ny)); n != 0 {
		t.Fatalf("on the due day: %d", n)
	}
	if n := m.WorkingDaysLeft(time.Date(2026, 12, 28, 9, 0, 0, 0, ny)); n != -1 {
		t.Fatalf("one working day late (Christmas and the weekend skipped): %d", n)
	}
	r := NewMatters()
	b, _ := json.Marshal(m)
	r.Apply(SubtypeMatterOpen, b)
	s, _ := json.Marshal(MatterSearch{Matter: "FOIA-1", Query: "merger", Hits: 12, Purpose: "responsive"})
	r.Apply(SubtypeMatterSearch, s)
	c, _ := json.Marshal(map[string]any{"id": "FOIA-1", "at": time.Now(), "by": "records officer"})
	r.Apply(SubtypeMatterClose, c)
	got := r.Get("FOIA-1")
	if got == nil || len(got.Searches) != 1 || got.Searches[0].Hits != 12 || got.ClosedAt.IsZero() || !got.Due.Equal(m.Due) {
		t.Fatalf("replayed %+v", got)
	}
}
