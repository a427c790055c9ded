package retention

import (
	"testing"
	"time"
)

func TestAssess20DayRule(t *testing.T) {
	sent := time.Date(2026, 11, 1, 15, 0, 0, 0, time.UTC)
	now := time.Date(2026, 11, 19, 12, 0, 0, 0, time.UTC)
	msgs := []Tracked{
		{RecordID: "a", SentAt: sent, CopiedAt: sent.Add(time.Minute)},                     // captured at once
		{RecordID: "b", SentAt: sent.AddDate(0, 0, -30), CopiedAt: sent.AddDate(0, 0, -5)}, // copied 25 days later
		{RecordID: "c", SentAt: sent},                                                      // deadline 21 Nov 15:00, 2.1 days away
		{RecordID: "d", SentAt: sent.AddDate(0, 0, -25)},                                   // never copied
		{RecordID: "e", SentAt: now.Add(-time.Hour)},                                       // just sent
		{RecordID: "f", SentAt: sent, CopiedAt: Deadline(sent)},                            // exactly at the deadline
	}
	got := Assess(msgs, now, 3*24*time.Hour)
	want := []struct{ id, status string }{{"d", StatusOverdue}, {"b", StatusLate}, {"c", StatusDueSoon}, {"e", StatusOpen}, {"a", StatusOnTime}, {"f", StatusOnTime}}
	if len(got) != len(want) {
		t.Fatalf("%d assessments", len(got))
	}
	for i, w := range want {
		if got[i].RecordID != w.id || got[i].Status != w.status {
			t.Errorf("%d: %s %s, want %s %s", i, got[i].RecordID, got[i].Status, w.id, w.status)
		}
	}
	if d := Deadline(sent); !d.Equal(time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("deadline %s", d)
	}
}
