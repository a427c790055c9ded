package retention

import (
	"slices"
	"time"
)

// FRA2911Days is the limit of 44 U.S.C. 2911(a): an officer or employee
// who creates or sends a record using a non-official electronic messaging
// account must copy it to, or forward it to, an official account no later
// than 20 days after its creation or transmission.
const FRA2911Days = 20

// Tracked is one message from a non-official account, tracked against
// the 20-day rule.
type Tracked struct {
	RecordID string    `json:"record_id"`
	Person   string    `json:"person"`
	Channel  string    `json:"channel"`
	SentAt   time.Time `json:"sent_at"`
	// CopiedAt is when the complete copy reached the official record (for
	// a message onrecord captured, when it was captured); zero if not yet.
	CopiedAt time.Time `json:"copied_at,omitzero"`
}

// Status of a tracked message.
const (
	StatusOnTime  = "on_time"  // copied within 20 days
	StatusLate    = "late"     // copied, after the deadline: a violation to report
	StatusDueSoon = "due_soon" // not copied, deadline within the warning window
	StatusOpen    = "open"     // not copied, deadline further away
	StatusOverdue = "overdue"  // not copied, deadline passed: a violation
)

// Assessment is a tracked message's standing at a time.
type Assessment struct {
	Tracked
	Deadline time.Time `json:"deadline"`
	Status   string    `json:"status"`
}

// Deadline is the end of the 20th calendar day after sentAt (the statute
// counts days, not working days).
func Deadline(sentAt time.Time) time.Time {
	return sentAt.Add(FRA2911Days * 24 * time.Hour)
}

// Assess classifies messages at now; warn is how long before the deadline
// an uncopied message starts to alert. Violations (late, overdue) come
// first, then by deadline.
func Assess(msgs []Tracked, now time.Time, warn time.Duration) []Assessment {
	out := make([]Assessment, 0, len(msgs))
	for _, m := range msgs {
		a := Assessment{Tracked: m, Deadline: Deadline(m.SentAt)}
		switch {
		case !m.CopiedAt.IsZero() && !m.CopiedAt.After(a.Deadline):
			a.Status = StatusOnTime
		case !m.CopiedAt.IsZero():
			a.Status = StatusLate
		case now.After(a.Deadline):
			a.Status = StatusOverdue
		case !now.Before(a.Deadline.Add(-warn)):
			a.Status = StatusDueSoon
		default:
			a.Status = StatusOpen
		}
		out = append(out, a)
	}
	rank := map[string]int{StatusOverdue: 0, StatusLate: 1, StatusDueSoon: 2, StatusOpen: 3, StatusOnTime: 4}
	slices.SortStableFunc(out, func(a, b Assessment) int {
		if rank[a.Status] != rank[b.Status] {
			return rank[a.Status] - rank[b.Status]
		}
		return a.Deadline.Compare(b.Deadline)
	})
	return out
}
