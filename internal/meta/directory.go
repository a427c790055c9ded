// Package meta holds the organisation's directory: people, their business
// identities per channel, and groups. Every change is recorded (through
// the Recorder, into the journal) before it takes effect, so the directory
// can always be rebuilt from the record and a message can be attributed to
// a person as they were at the time.
package meta

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/onrecord/onrecord"
)

// Change operations.
const (
	OpPersonPut    = "person.put"    // created or updated; Person is the new state
	OpPersonDelete = "person.delete" // removed from the directory
	OpGroupPut     = "group.put"
	OpGroupDelete  = "group.delete"
	// OpAccessRevoke records that a deprovisioned person lost channel
	// access; Person is their state after.
	OpAccessRevoke = "access.revoke"
	// OpAdminHandover records group-admin rights handed from Person to To.
	OpAdminHandover = "admin.handover"
)

// Change is one recorded directory change.
type Change struct {
	Op     string           `json:"op"`
	At     time.Time        `json:"at"`
	Actor  string           `json:"actor"`
	Reason string           `json:"reason,omitempty"`
	Person *onrecord.Person `json:"person,omitempty"`
	Group  *GroupState      `json:"group,omitempty"`
	To     string           `json:"to,omitempty"`
	// Contact is set for contact.put changes.
	Contact *Contact `json:"contact,omitempty"`
	// Chat is set for chat-group changes and hand-overs.
	Chat *onrecord.ChatGroup `json:"chat,omitempty"`
}

// GroupState is a group with its administrators.
type GroupState struct {
	onrecord.Group
	Admins []string `json:"admins,omitempty"`
}

// Recorder makes a change durable before it takes effect.
type Recorder interface {
	Record(ctx context.Context, c Change) error
}

// Options configure a Directory.
type Options struct {
	Recorder Recorder
	// FallbackAdminRole is the role whose active members receive group
	// administration when a deprovisioned admin has no active manager.
	FallbackAdminRole string
	// Entitled says whether a person may still use a channel (their role's
	// entitlements); a person changed so that they may not leaves the
	// channel's chat groups at once. Nil keeps them.
	Entitled func(p onrecord.Person, channel string) bool
	Now      func() time.Time
}

// Directory is the in-memory directory, rebuilt from recorded changes at
// start.
type Directory struct {
	opts   Options
	mu     sync.RWMutex
	people map[string]*onrecord.Person
	groups map[string]*GroupState
	chats  map[string]*onrecord.ChatGroup
	chatAt map[string]string // channel and conversation → chat group id
	// holdings are the spans in which each person held each identity.
	holdings map[string][]Holding
	everHeld map[onrecord.Identity]bool
	// holder is the active person holding each business identity:
	// ByIdentity runs for every captured message.
	holder map[onrecord.Identity]string
}

// New returns an empty directory.
func New(opts Options) *Directory {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Directory{opts: opts, people: map[string]*onrecord.Person{}, groups: map[string]*GroupState{},
		chats: map[string]*onrecord.ChatGroup{}, chatAt: map[string]string{},
		holdings: map[string][]Holding{}, everHeld: map[onrecord.Identity]bool{}, holder: map[onrecord.Identity]string{}}
}

// NewID returns a fresh resource id.
func NewID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Replay applies a recorded change without recording it again.
func (d *Directory) Replay(c Change) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.apply(c)
}

func (d *Directory) apply(c Change) {
	switch c.Op {
	case OpPersonPut, OpAccessRevoke:
		p := *c.Person
		d.trackHolder(d.people[p.ID], &p)
		d.people[p.ID] = &p
		d.trackHoldings(&p, c.At, false)
	case OpPersonDelete:
		d.trackHolder(d.people[c.Person.ID], nil)
		delete(d.people, c.Person.ID)
		d.trackHoldings(c.Person, c.At, true)
	case OpGroupPut:
		g := *c.Group
		d.groups[g.ID] = &g
	case OpGroupDelete:
		delete(d.groups, c.Group.ID)
	case OpChatGroupPut, OpChatGroupDelete:
		d.applyChat(c)
	case OpAdminHandover:
		// The groups' new states are recorded as group.put changes; the
		// hand-over itself is the explanation.
	}
}

// commit records c, then applies it. Called with mu held.
func (d *Directory) commit(ctx context.Context, c Change) error {
	if c.At.IsZero() {
		c.At = d.opts.Now().UTC()
	}
	if d.opts.Recorder != nil {
		if err := d.opts.Recorder.Record(ctx, c); err != nil {
			return fmt.Errorf("directory: record %s: %w", c.Op, err)
		}
	}
	d.apply(c)
	return nil
}

// Person returns a copy of the person with id.
func (d *Directory) Person(id string) (onrecord.Person, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	p, ok := d.people[id]
	if !ok {
		return onrecord.Person{}, false
	}
	return clonePerson(p), true
}

// Find returns the person whose id or user name (case-insensitive) is
// idOrName: how API callers name an employee.
func (d *Directory) Find(idOrName string) (onrecord.Person, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if p, ok := d.people[idOrName]; ok {
		return clonePerson(p), true
	}
	for _, p := range d.people {
		if strings.EqualFold(p.UserName, idOrName) {
			return clonePerson(p), true
		}
	}
	return onrecord.Person{}, false
}

// People returns every person, ordered by user name.
func (d *Directory) People() []onrecord.Person {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]onrecord.Person, 0, len(d.people))
	for _, p := range d.people {
		out = append(out, clonePerson(p))
	}
	slices.SortFunc(out, func(a, b onrecord.Person) int { return cmp.Compare(a.UserName, b.UserName) })
	return out
}

// ByIdentity finds the active person holding a business identity on a
// channel: only current holders, so a number reassigned to someone new
// never resolves to the previous holder.
func (d *Directory) ByIdentity(channel, address string) (onrecord.Person, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	p, ok := d.people[d.holder[onrecord.Identity{Channel: channel, Address: address}]]
	if !ok || !p.Active {
		return onrecord.Person{}, false
	}
	return clonePerson(p), true
}

// trackHolder moves holder from a person's old state to their new one
// (nil: gone). Called with mu held.
func (d *Directory) trackHolder(old, p *onrecord.Person) {
	if old != nil {
		for _, id := range old.Identities {
			if d.holder[id] == old.ID {
				delete(d.holder, id)
			}
		}
	}
	if p != nil && p.Active {
		for _, id := range p.Identities {
			d.holder[id] = p.ID
		}
	}
}

// Group returns a copy of the group with id.
func (d *Directory) Group(id string) (GroupState, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	g, ok := d.groups[id]
	if !ok {
		return GroupState{}, false
	}
	return cloneGroup(g), true
}

// Groups returns every group, ordered by name.
func (d *Directory) Groups() []GroupState {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]GroupState, 0, len(d.groups))
	for _, g := range d.groups {
		out = append(out, cloneGroup(g))
	}
	slices.SortFunc(out, func(a, b GroupState) int { return cmp.Compare(a.DisplayName, b.DisplayName) })
	return out
}

// PutPerson creates or replaces a person. A user name already used by
// another person is a conflict. Turning Active off deprovisions.
func (d *Directory) PutPerson(ctx context.Context, actor string, p onrecord.Person) (onrecord.Person, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if strings.TrimSpace(p.UserName) == "" {
		return p, onrecord.Errorf(onrecord.EINVALID, "userName is required")
	}
	for _, q := range d.people {
		if q.ID != p.ID && strings.EqualFold(q.UserName, p.UserName) {
			return p, onrecord.Errorf(onrecord.ECONFLICT, "userName %q is already used", p.UserName)
		}
	}
	// A business identity belongs to one active person at a time.
	for _, id := range p.Identities {
		for _, q := range d.people {
			if q.ID == p.ID || !q.Active || !p.Active {
				continue
			}
			for _, qi := range q.Identities {
				if qi == id {
					return p, onrecord.Errorf(onrecord.ECONFLICT, "identity %s %s is held by %s", id.Channel, id.Address, q.UserName)
				}
			}
		}
	}
	now := d.opts.Now().UTC()
	old, existed := d.people[p.ID]
	if p.ID == "" {
		p.ID = NewID()
	}
	if existed {
		p.Created = old.Created
	} else {
		p.Created = now
	}
	p.Modified = now
	if err := d.commit(ctx, Change{Op: OpPersonPut, Actor: actor, Person: &p}); err != nil {
		return p, err
	}
	if existed && old.Active && !p.Active {
		if err := d.deprovision(ctx, actor, p.ID, "deactivated"); err != nil {
			return p, err
		}
	} else if existed && p.Active {
		// A changed role or identity may end their place in chat groups.
		if err := d.revokeChats(ctx, actor, "role or identity changed", p); err != nil {
			return p, err
		}
	}
	return clonePerson(d.people[p.ID]), nil
}

// DeletePerson removes a person, deprovisioning them first.
func (d *Directory) DeletePerson(ctx context.Context, actor, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.people[id]
	if !ok {
		return onrecord.Errorf(onrecord.ENOTFOUND, "no person %s", id)
	}
	if err := d.deprovision(ctx, actor, id, "deleted"); err != nil {
		return err
	}
	gone := clonePerson(p)
	return d.commit(ctx, Change{Op: OpPersonDelete, Actor: actor, Person: &gone})
}

// deprovision revokes channel access, removes the person from every group
// and hands their group administration to their manager, or to the
// fallback role's active members. Called with mu held.
func (d *Directory) deprovision(ctx context.Context, actor, id, why string) error {
	p := clonePerson(d.people[id])
	p.Active = false
	p.Modified = d.opts.Now().UTC()
	if err := d.commit(ctx, Change{Op: OpAccessRevoke, Actor: actor, Reason: why, Person: &p}); err != nil {
		return err
	}
	if err := d.revokeChats(ctx, actor, why, p); err != nil {
		return err
	}
	heirs := d.heirs(p)
	ids := make([]string, 0, len(d.groups))
	for gid := range d.groups {
		ids = append(ids, gid)
	}
	slices.Sort(ids)
	for _, gid := range ids {
		g := cloneGroup(d.groups[gid])
		wasAdmin := slices.Contains(g.Admins, id)
		if !wasAdmin && !slices.Contains(g.Members, id) {
			continue
		}
		g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return m == id })
		g.Admins = slices.DeleteFunc(g.Admins, func(m string) bool { return m == id })
		if wasAdmin {
			for _, h := range heirs {
				if !slices.Contains(g.Admins, h) {
					g.Admins = append(g.Admins, h)
				}
				if !slices.Contains(g.Members, h) {
					g.Members = append(g.Members, h)
				}
				if err := d.commit(ctx, Change{Op: OpAdminHandover, Actor: actor, Reason: why + ": admin of " + g.DisplayName, Person: &p, To: h,
					Group: &g}); err != nil {
					return err
				}
			}
		}
		g.Modified = d.opts.Now().UTC()
		if err := d.commit(ctx, Change{Op: OpGroupPut, Actor: actor, Reason: why + ": " + p.UserName + " removed", Group: &g}); err != nil {
			return err
		}
	}
	return nil
}

// heirs are who receives a deprovisioned person's group administration.
func (d *Directory) heirs(p onrecord.Person) []string {
	if m, ok := d.people[p.Manager]; ok && m.Active && m.ID != p.ID {
		return []string{m.ID}
	}
	var out []string
	if d.opts.FallbackAdminRole != "" {
		for _, q := range d.people {
			if q.Active && q.ID != p.ID && q.Role == d.opts.FallbackAdminRole {
				out = append(out, q.ID)
			}
		}
	}
	slices.Sort(out)
	return out
}

// PutGroup creates or replaces a group. Members must exist.
func (d *Directory) PutGroup(ctx context.Context, actor string, g GroupState) (GroupState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if strings.TrimSpace(g.DisplayName) == "" {
		return g, onrecord.Errorf(onrecord.EINVALID, "displayName is required")
	}
	for _, q := range d.groups {
		if q.ID != g.ID && strings.EqualFold(q.DisplayName, g.DisplayName) {
			return g, onrecord.Errorf(onrecord.ECONFLICT, "displayName %q is already used", g.DisplayName)
		}
	}
	for _, m := range append(slices.Clone(g.Members), g.Admins...) {
		if _, ok := d.people[m]; !ok {
			return g, onrecord.Errorf(onrecord.EINVALID, "member %s is not in the directory", m)
		}
	}
	now := d.opts.Now().UTC()
	if g.ID == "" {
		g.ID = NewID()
	}
	if old, ok := d.groups[g.ID]; ok {
		g.Created = old.Created
		if g.Admins == nil {
			g.Admins = old.Admins
		}
	} else {
		g.Created = now
	}
	g.Modified = now
	g.Members = dedupe(g.Members)
	if err := d.commit(ctx, Change{Op: OpGroupPut, Actor: actor, Group: &g}); err != nil {
		return g, err
	}
	return cloneGroup(d.groups[g.ID]), nil
}

// DeleteGroup removes a group.
func (d *Directory) DeleteGroup(ctx context.Context, actor, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, ok := d.groups[id]
	if !ok {
		return onrecord.Errorf(onrecord.ENOTFOUND, "no group %s", id)
	}
	gone := cloneGroup(g)
	return d.commit(ctx, Change{Op: OpGroupDelete, Actor: actor, Group: &gone})
}

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func clonePerson(p *onrecord.Person) onrecord.Person {
	c := *p
	c.Identities = slices.Clone(p.Identities)
	return c
}

func cloneGroup(g *GroupState) GroupState {
	c := *g
	c.Members = slices.Clone(g.Members)
	c.Admins = slices.Clone(g.Admins)
	return c
}
