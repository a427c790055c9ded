package thread

import (
	"cmp"
	"slices"
	"strings"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
)

// Receipt is the delivery history of a message for one party.
type Receipt struct {
	// Party is whose state the statuses report: the recipient of an
	// outbound message, the sender of a receipt for an inbound one. Its ID
	// is empty if the provider did not say.
	Party onrecord.Party
	// Statuses are in the order they happened; at the same time, in the
	// order a message goes through them (sent before delivered before
	// read), since providers report in seconds and deliver out of order.
	Statuses []Status
}

// Status is one status record.
type Status struct {
	export.Item
	Status string
	Error  string
}

// Latest returns the furthest status the message reached for the party:
// a failure outranks everything, because a reviewer must see it even if
// an earlier "sent" or a stray "read" arrived later.
func (r Receipt) Latest() Status {
	best := r.Statuses[0]
	for _, s := range r.Statuses[1:] {
		if rank(s.Status) >= rank(best.Status) {
			best = s
		}
	}
	return best
}

// rank orders the statuses providers send by how far the message got.
// Unknown statuses rank lowest so they never hide a known one.
func rank(status string) int {
	switch strings.ToLower(status) {
	case "queued", "accepted", "scheduled", "sending":
		return 1
	case "sent":
		return 2
	case "delivered", "receiving", "received":
		return 3
	case "read", "viewed", "played":
		return 4
	case "failed", "undelivered", "canceled", "cancelled":
		return 5
	}
	return 0
}

func addStatus(m *Message, it export.Item) {
	ev := it.Event
	parties := []onrecord.Party{ev.Sender}
	if ev.Direction == onrecord.Outbound {
		// A provider reports on what the organisation sent: the state is
		// the recipient's. Without a recipient it is unknown, not the
		// organisation's own.
		parties = ev.Recipients
		if len(parties) == 0 {
			parties = []onrecord.Party{{}}
		}
	}
	st := Status{Item: it, Status: ev.Status, Error: ev.StatusError}
	for _, p := range parties {
		i := slices.IndexFunc(m.Statuses, func(r Receipt) bool { return r.Party.ID == p.ID })
		if i < 0 {
			m.Statuses = append(m.Statuses, Receipt{Party: p})
			i = len(m.Statuses) - 1
		}
		if m.Statuses[i].Party.Name == "" {
			m.Statuses[i].Party.Name = p.Name
		}
		m.Statuses[i].Statuses = append(m.Statuses[i].Statuses, st)
	}
}

func sortReceipts(rs []Receipt) {
	for _, r := range rs {
		slices.SortStableFunc(r.Statuses, func(a, b Status) int {
			if c := a.Event.SentAt.Compare(b.Event.SentAt); c != 0 {
				return c
			}
			if c := cmp.Compare(rank(a.Status), rank(b.Status)); c != 0 {
				return c
			}
			return cmp.Compare(a.Seq, b.Seq)
		})
	}
}
