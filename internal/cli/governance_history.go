package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/meta"
)

// governanceHistory is the directory and the contact registry rebuilt from
// their system records, the way internal/app's governance rebuilds them at
// start. Fed record by record alongside the captured events, it holds the
// state as it stood when each event was captured; fed everything (through
// ReplaySystem), the current state.
type governanceHistory struct {
	dir      *meta.Directory
	contacts *meta.Contacts
	// policies are the policy set versions on record (policy.set).
	policies map[string]bool
	// flags are the provider ids of the policy.flag records on record.
	flags map[string]bool
	// people and consent cache lookups by (channel, address) until the next
	// directory or contact change: a rerun looks the same senders up over
	// and over, and the registries search linearly.
	people  map[string]*onrecord.Person
	consent map[string]string
}

func newGovernanceHistory() *governanceHistory {
	return &governanceHistory{
		dir:      meta.New(meta.Options{}),
		contacts: meta.NewContacts(meta.ContactOptions{}),
		policies: map[string]bool{},
		flags:    map[string]bool{},
		people:   map[string]*onrecord.Person{},
		consent:  map[string]string{},
	}
}

// apply takes in one system record; records other than directory, contact
// and policy changes are ignored.
func (h *governanceHistory) apply(seq uint64, ev *onrecord.Event) error {
	switch {
	case strings.HasPrefix(ev.Subtype, "directory."):
		var c meta.Change
		if err := json.Unmarshal(ev.Raw, &c); err != nil {
			return fmt.Errorf("directory change in record %d: %w", seq, err)
		}
		if c.Contact != nil {
			h.contacts.ReplayContact(*c.Contact)
		} else {
			h.dir.Replay(c)
		}
		clear(h.people)
		clear(h.consent)
	case ev.Subtype == "policy.set":
		h.policies[ev.Meta["version"]] = true
	case ev.Subtype == subtypePolicyFlag:
		h.flags[ev.ProviderID] = true
	}
	return nil
}

// employee returns the active person holding the business identity
// (channel, address), or nil.
func (h *governanceHistory) employee(channel, address string) *onrecord.Person {
	key := channel + "\x00" + address
	if p, ok := h.people[key]; ok {
		return p
	}
	var found *onrecord.Person
	if p, ok := h.dir.ByIdentity(channel, address); ok {
		found = &p
	}
	h.people[key] = found
	return found
}

// consentState returns the consent state of the contact (channel,
// address), "" for a contact nobody added.
func (h *governanceHistory) consentState(channel, address string) string {
	key := channel + "\x00" + address
	if s, ok := h.consent[key]; ok {
		return s
	}
	s, _ := h.contacts.ConsentState(channel, address)
	h.consent[key] = s
	return s
}

// directoryVars are a person's attributes as policy conditions see them
// (sender.role, sender.official...): the same names the gate gives them.
func directoryVars(p *onrecord.Person) map[string]any {
	return map[string]any{"id": p.ID, "user_name": p.UserName, "name": p.Name(), "role": p.Role, "department": p.Department,
		"seniority": p.Seniority, "official": p.Official, "title": p.Title}
}
