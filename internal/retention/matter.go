package retention

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Matter is a records request (a FOIA request, a subpoena, an examination):
// what it covers (a scoped hold placed when it is opened), when it is due,
// and the search methodology used to answer it, step by step, so that the
// response can show how it was searched.
type Matter struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"` // foia, subpoena, exam, litigation, other
	Title       string         `json:"title,omitempty"`
	Received    string         `json:"received"` // YYYY-MM-DD in Zone
	Zone        string         `json:"zone"`
	WorkingDays int            `json:"working_days,omitempty"`
	Due         time.Time      `json:"due"`
	Scope       Hold           `json:"scope"`
	OpenedBy    string         `json:"opened_by"`
	OpenedAt    time.Time      `json:"opened_at"`
	Searches    []MatterSearch `json:"searches,omitempty"`
	ClosedAt    time.Time      `json:"closed_at,omitzero"`
	ClosedBy    string         `json:"closed_by,omitempty"`
}

// MatterSearch is one step of a matter's methodology.
type MatterSearch struct {
	Matter string    `json:"matter"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Query  string    `json:"query"`
	Hits   int       `json:"hits"`
	// Purpose says what the step was for ("responsive", "export", "scope").
	Purpose string `json:"purpose"`
}

// DefaultWorkingDays is the statutory limit by matter type where there is
// one: FOIA's 20 working days (5 U.S.C. 552(a)(6)(A)(i)).
var DefaultWorkingDays = map[string]int{"foia": 20}

// Subtypes of the system records a matter's life is written in.
const (
	SubtypeMatterOpen   = "matter.open"
	SubtypeMatterSearch = "matter.search"
	SubtypeMatterClose  = "matter.close"
)

// NewMatter computes a matter's due date: working days after the day of
// receipt in the matter's zone, or due when given.
func NewMatter(id, typ, title, received, zone string, workingDays int, due string) (*Matter, error) {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("matter %s: zone: %w", id, err)
	}
	r, err := time.ParseInLocation(dayLayout, received, loc)
	if err != nil {
		return nil, fmt.Errorf("matter %s: received %q must be YYYY-MM-DD", id, received)
	}
	m := &Matter{ID: id, Type: typ, Title: title, Received: received, Zone: zone}
	switch {
	case due != "":
		d, err := time.ParseInLocation(dayLayout, due, loc)
		if err != nil {
			return nil, fmt.Errorf("matter %s: due %q must be YYYY-MM-DD", id, due)
		}
		m.Due = d.AddDate(0, 0, 1).Add(-time.Nanosecond)
	default:
		if workingDays == 0 {
			workingDays = DefaultWorkingDays[typ]
		}
		if workingDays == 0 {
			return nil, fmt.Errorf("matter %s: a %s has no statutory limit here; give --due or --working-days", id, typ)
		}
		m.WorkingDays = workingDays
		if m.Due, err = AddWorkingDays(r, workingDays); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// WorkingDaysLeft counts the working days from now to the due date (0 on
// the due day, negative when overdue).
func (m *Matter) WorkingDaysLeft(now time.Time) int {
	loc := m.Due.Location()
	today := now.In(loc)
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	due := time.Date(m.Due.Year(), m.Due.Month(), m.Due.Day(), 0, 0, 0, 0, loc)
	n := 0
	for ; day.Before(due); day = day.AddDate(0, 0, 1) {
		if IsWorkingDay(day.AddDate(0, 0, 1)) {
			n++
		}
	}
	for ; day.After(due); day = day.AddDate(0, 0, -1) {
		if IsWorkingDay(day) {
			n--
		}
	}
	return n
}

// Matters is the registry of matters, rebuilt from their records.
type Matters struct{ byID map[string]*Matter }

// NewMatters returns an empty registry.
func NewMatters() *Matters { return &Matters{byID: map[string]*Matter{}} }

// Apply takes in one matter record (its subtype and body).
func (r *Matters) Apply(subtype string, body []byte) error {
	switch subtype {
	case SubtypeMatterOpen:
		var m Matter
		if err := json.Unmarshal(body, &m); err != nil {
			return fmt.Errorf("matter record: %w", err)
		}
		if loc, err := time.LoadLocation(m.Zone); err == nil {
			m.Due = m.Due.In(loc)
		}
		r.byID[m.ID] = &m
	case SubtypeMatterSearch:
		var s MatterSearch
		if err := json.Unmarshal(body, &s); err != nil {
			return fmt.Errorf("matter search record: %w", err)
		}
		if m := r.byID[s.Matter]; m != nil {
			m.Searches = append(m.Searches, s)
		}
	case SubtypeMatterClose:
		var c struct {
			ID string    `json:"id"`
			At time.Time `json:"at"`
			By string    `json:"by"`
		}
		if err := json.Unmarshal(body, &c); err != nil {
			return fmt.Errorf("matter close record: %w", err)
		}
		if m := r.byID[c.ID]; m != nil {
			m.ClosedAt, m.ClosedBy = c.At, c.By
		}
	}
	return nil
}

// Get returns the matter id, or nil.
func (r *Matters) Get(id string) *Matter { return r.byID[id] }

// All lists matters, the soonest due first.
func (r *Matters) All() []*Matter {
	out := make([]*Matter, 0, len(r.byID))
	for _, m := range r.byID {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Due.Equal(out[j].Due) {
			return out[i].Due.Before(out[j].Due)
		}
		return out[i].ID < out[j].ID
	})
	return out
}
