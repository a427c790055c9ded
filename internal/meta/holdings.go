package meta

import (
	"slices"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
)

// Holding is a span of time during which a person held a business
// identity. Messages to and from the address in that span are theirs; a
// number handed to someone else carries none of the previous holder's
// conversations to the new one.
type Holding struct {
	Channel string    `json:"channel"`
	Address string    `json:"address"`
	From    time.Time `json:"from,omitzero"` // zero: since before the directory knew of it
	To      time.Time `json:"to,omitzero"`   // zero: still held
}

// Covers says whether the holding includes t.
func (h Holding) Covers(t time.Time) bool {
	return (h.From.IsZero() || !t.Before(h.From)) && (h.To.IsZero() || t.Before(h.To))
}

// Holdings returns every span in which the person with id held a business
// identity, in the order they began.
func (d *Directory) Holdings(id string) []Holding {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return slices.Clone(d.holdings[id])
}

// trackHoldings updates the spans for a person's new state at. The first
// holder of an address holds it from the beginning: messages captured
// before they were provisioned are theirs. Called with mu held, from apply,
// so replay rebuilds the same spans.
func (d *Directory) trackHoldings(p *onrecord.Person, at time.Time, gone bool) {
	held := map[onrecord.Identity]bool{}
	if p.Active && !gone {
		for _, id := range p.Identities {
			held[id] = true
		}
	}
	spans := d.holdings[p.ID]
	open := map[onrecord.Identity]bool{}
	for i := range spans {
		h := &spans[i]
		if !h.To.IsZero() {
			continue
		}
		id := onrecord.Identity{Channel: h.Channel, Address: h.Address}
		if held[id] {
			open[id] = true
		} else {
			h.To = at
		}
	}
	for _, id := range p.Identities {
		if !held[id] || open[id] {
			continue
		}
		from := at
		if !d.everHeld[id] {
			from = time.Time{}
		}
		d.everHeld[id] = true
		spans = append(spans, Holding{Channel: id.Channel, Address: id.Address, From: from})
		open[id] = true
	}
	d.holdings[p.ID] = spans
}

// Custodian finds the person a custodian: query or hold names: by id,
// user name, email or display name (case-insensitive). A name that fits
// several people is an error naming them, never a guess.
func (d *Directory) Custodian(name string) (onrecord.Person, error) {
	if p, ok := d.Find(name); ok {
		return p, nil
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	var found []*onrecord.Person
	for _, p := range d.people {
		if strings.EqualFold(p.Email, name) || strings.EqualFold(p.Name(), name) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return onrecord.Person{}, onrecord.Errorf(onrecord.ENOTFOUND, "no custodian %q in the directory (by id, user name, email or name)", name)
	case 1:
		return clonePerson(found[0]), nil
	}
	var names []string
	for _, p := range found {
		names = append(names, p.UserName)
	}
	slices.Sort(names)
	return onrecord.Person{}, onrecord.Errorf(onrecord.EINVALID, "custodian %q names %d people (%s): use a user name", name, len(found), strings.Join(names, ", "))
}
