package policy

import (
	"context"
	"fmt"
	"slices"

	"github.com/onrecord/onrecord"
)

// Role is a role's channel entitlements, from the configuration.
type Role struct {
	Name string `toml:"name" json:"name"`
	// Channels the role may use (configured channel names; "*" for all).
	Channels []string `toml:"channels" json:"channels"`
	// CreateGroups lists the channels on which the role may create groups.
	CreateGroups []string `toml:"create_groups" json:"create_groups"`
}

// Refusal codes: why something may not be sent, for programs.
const (
	NotInDirectory   = "not_in_directory"
	Inactive         = "inactive"
	NotEntitled      = "not_entitled"
	NoIdentity       = "no_business_identity"
	ContactUnknown   = "contact_not_approved"
	NotConsented     = "contact_not_consented"
	PolicyBlocked    = "policy_blocked"
	NeedsApproval    = "approval_required"
	GroupNotAllowed  = "group_creation_not_allowed"
	MemberNotAllowed = "group_member_not_allowed"
)

// Refusal is a structured reason something was refused.
type Refusal struct {
	Code     string    `json:"code"`
	Message  string    `json:"message"`
	Decision *Decision `json:"decision,omitempty"`
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Message }

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Message: fmt.Sprintf(format, args...)}
}

// People resolves employees; Consents answers whether a contact accepted.
// internal/meta's Directory and Contacts satisfy them.
type People interface {
	Person(id string) (onrecord.Person, bool)
}

// Consents is the contact registry as the gate needs it: the consent
// state of (channel, address), and false for an unknown contact.
type Consents interface {
	ConsentState(channel, address string) (string, bool)
}

// consented checks one external party.
func (g *Gate) consented(channel, address string) *Refusal {
	if g.Contacts == nil {
		return refuse(ContactUnknown, "%s on %s is not an approved contact", address, channel)
	}
	state, ok := g.Contacts.ConsentState(channel, address)
	switch {
	case !ok:
		return refuse(ContactUnknown, "%s on %s is not an approved contact; add it to send the consent request", address, channel)
	case state != "accepted":
		return refuse(NotConsented, "%s on %s has not accepted (consent %s)", address, channel, state)
	}
	return nil
}

// Gate checks outbound messages in the order the law cares about: is the
// employee entitled to the channel, is the contact approved and has it
// consented, what do the policies say. Only then is the message committed
// and sent.
type Gate struct {
	People   People
	Contacts Consents
	Policies *Engine
	Roles    []Role
	// Staff finds the active employee holding a business identity, so
	// that a colleague in a group is checked for entitlement rather than
	// consent; nil treats every recipient as a contact.
	Staff func(channel, address string) (onrecord.Person, bool)
}

func (g *Gate) role(name string) (Role, bool) {
	for _, r := range g.Roles {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}

// Entitled says whether person may use channel: active, with a role that
// includes the channel and a business identity on it.
func (g *Gate) Entitled(p onrecord.Person, channel string) *Refusal {
	if !p.Active {
		return refuse(Inactive, "%s is not active", p.UserName)
	}
	r, ok := g.role(p.Role)
	if !ok || !(slices.Contains(r.Channels, channel) || slices.Contains(r.Channels, "*")) {
		return refuse(NotEntitled, "role %q may not use channel %s", p.Role, channel)
	}
	for _, id := range p.Identities {
		if id.Channel == channel {
			return nil
		}
	}
	return refuse(NoIdentity, "%s has no business identity on %s", p.UserName, channel)
}

// CheckSend decides on one outbound message from employee senderID. It
// returns the policy decision (for redaction and the record) or a Refusal.
func (g *Gate) CheckSend(ctx context.Context, senderID string, ev *onrecord.Event) (*Decision, error) {
	p, ok := g.People.Person(senderID)
	if !ok {
		return nil, refuse(NotInDirectory, "no employee %q in the directory", senderID)
	}
	if r := g.Entitled(p, ev.Channel); r != nil {
		return nil, r
	}
	for _, to := range ev.Recipients {
		if g.Staff != nil {
			if e, ok := g.Staff(ev.Channel, to.ID); ok {
				if r := g.Entitled(e, ev.Channel); r != nil {
					return nil, refuse(MemberNotAllowed, "recipient %s: %s", to.ID, r.Message)
				}
				continue
			}
		}
		if r := g.consented(ev.Channel, to.ID); r != nil {
			return nil, r
		}
	}
	if g.Policies == nil {
		return &Decision{Action: Allow}, nil
	}
	d, err := g.Policies.Evaluate(ctx, Input{Event: ev, Sender: personVars(p), Contact: map[string]any{"approved": true, "consented": true}})
	if err != nil {
		return nil, err
	}
	switch d.Action {
	case Block:
		return d, &Refusal{Code: PolicyBlocked, Message: d.Reason(), Decision: d}
	case RequireApproval:
		return d, &Refusal{Code: NeedsApproval, Message: d.Reason(), Decision: d}
	}
	return d, nil
}

// CheckGroup decides whether creator may create a group on channel with
// these members: the creator's role must allow it, and every member must
// be an entitled employee (by identity) or a consented contact.
func (g *Gate) CheckGroup(creatorID, channel string, members []string, isEmployee func(channel, address string) (onrecord.Person, bool)) *Refusal {
	p, ok := g.People.Person(creatorID)
	if !ok {
		return refuse(NotInDirectory, "no employee %q in the directory", creatorID)
	}
	if r := g.Entitled(p, channel); r != nil {
		return r
	}
	if r, _ := g.role(p.Role); !slices.Contains(r.CreateGroups, channel) {
		return refuse(GroupNotAllowed, "role %q may not create groups on %s", p.Role, channel)
	}
	for _, m := range members {
		if r := g.CheckMember(channel, m, isEmployee); r != nil {
			return r
		}
	}
	return nil
}

// CheckMember decides whether address may be in a conversation on
// channel: an entitled employee (by business identity) or a consented
// contact.
func (g *Gate) CheckMember(channel, address string, isEmployee func(channel, address string) (onrecord.Person, bool)) *Refusal {
	if isEmployee != nil {
		if e, ok := isEmployee(channel, address); ok {
			if r := g.Entitled(e, channel); r != nil {
				return refuse(MemberNotAllowed, "member %s: %s", address, r.Message)
			}
			return nil
		}
	}
	if r := g.consented(channel, address); r != nil {
		return refuse(MemberNotAllowed, "member %s: %s", address, r.Message)
	}
	return nil
}

func personVars(p onrecord.Person) map[string]any {
	return map[string]any{"id": p.ID, "user_name": p.UserName, "name": p.Name(), "role": p.Role, "department": p.Department,
		"seniority": p.Seniority, "official": p.Official, "title": p.Title}
}
