package meta

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/onrecord/onrecord"
)

// Chat-group change operations. Every change records the group's whole
// new state, so replay needs nothing else.
const (
	OpChatGroupPut    = "chatgroup.put"
	OpChatGroupDelete = "chatgroup.delete"
)

// ChatGroup returns a copy of the governed chat group with id.
func (d *Directory) ChatGroup(id string) (onrecord.ChatGroup, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	g, ok := d.chats[id]
	if !ok {
		return onrecord.ChatGroup{}, false
	}
	return cloneChat(g), true
}

// ChatGroupAt returns the governed group whose provider conversation on
// channel is conversation: how a captured group message finds its roster.
func (d *Directory) ChatGroupAt(channel, conversation string) (onrecord.ChatGroup, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	g, ok := d.chats[d.chatAt[chatKey(channel, conversation)]]
	if !ok {
		return onrecord.ChatGroup{}, false
	}
	return cloneChat(g), true
}

// ChatGroups returns every governed chat group, ordered by channel and name.
func (d *Directory) ChatGroups() []onrecord.ChatGroup {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]onrecord.ChatGroup, 0, len(d.chats))
	for _, g := range d.chats {
		out = append(out, cloneChat(g))
	}
	slices.SortFunc(out, func(a, b onrecord.ChatGroup) int {
		return cmp.Or(cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// PutChatGroup records a chat group's new state. The caller (the gate)
// has decided the change is allowed; the directory keeps the invariants it
// can see: a channel and a provider conversation, unique per channel,
// members with addresses, at least one admin.
func (d *Directory) PutChatGroup(ctx context.Context, actor, reason string, g onrecord.ChatGroup) (onrecord.ChatGroup, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if strings.TrimSpace(g.Channel) == "" || strings.TrimSpace(g.Conversation) == "" {
		return g, onrecord.Errorf(onrecord.EINVALID, "a chat group needs a channel and the provider's conversation id")
	}
	if other, ok := d.chatAt[chatKey(g.Channel, g.Conversation)]; ok && other != g.ID {
		return g, onrecord.Errorf(onrecord.ECONFLICT, "conversation %s on %s is already governed as group %s", g.Conversation, g.Channel, other)
	}
	seen := map[string]bool{}
	admins := 0
	for _, m := range g.Members {
		if strings.TrimSpace(m.Address) == "" {
			return g, onrecord.Errorf(onrecord.EINVALID, "a member needs an address")
		}
		if seen[m.Address] {
			return g, onrecord.Errorf(onrecord.EINVALID, "member %s is listed twice", m.Address)
		}
		seen[m.Address] = true
		if m.Admin {
			admins++
		}
	}
	if len(g.Members) > 0 && admins == 0 {
		return g, onrecord.Errorf(onrecord.EINVALID, "a chat group needs an admin")
	}
	now := d.opts.Now().UTC()
	if g.ID == "" {
		g.ID = NewID()
	}
	if old, ok := d.chats[g.ID]; ok {
		g.Created, g.CreatedBy = old.Created, old.CreatedBy
	} else {
		g.Created = now
	}
	g.Modified = now
	if err := d.commit(ctx, Change{Op: OpChatGroupPut, Actor: actor, Reason: reason, Chat: &g}); err != nil {
		return g, err
	}
	return cloneChat(d.chats[g.ID]), nil
}

// applyChat applies a chat-group change. Called with mu held.
func (d *Directory) applyChat(c Change) {
	g := cloneChat(c.Chat)
	if old, ok := d.chats[g.ID]; ok {
		delete(d.chatAt, chatKey(old.Channel, old.Conversation))
	}
	if c.Op == OpChatGroupDelete {
		delete(d.chats, g.ID)
		return
	}
	d.chats[g.ID] = &g
	d.chatAt[chatKey(g.Channel, g.Conversation)] = g.ID
}

// revokeChats removes person p from every chat group on a channel they may
// no longer use (all of them when they left), handing their admin rights
// to heirs who are members, or who can join, on that channel. Called with
// mu held.
func (d *Directory) revokeChats(ctx context.Context, actor, why string, p onrecord.Person) error {
	ids := make([]string, 0, len(d.chats))
	for id, g := range d.chats {
		if slices.ContainsFunc(g.Members, func(m onrecord.GroupMember) bool { return m.Person == p.ID }) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		g := cloneChat(d.chats[id])
		entitled := p.Active && (d.opts.Entitled == nil || d.opts.Entitled(p, g.Channel))
		// A member stays while still entitled and still holding the
		// address they joined with: a number handed to someone else does
		// not carry the group with it.
		stays := func(m onrecord.GroupMember) bool {
			return entitled && slices.Contains(p.Identities, onrecord.Identity{Channel: g.Channel, Address: m.Address})
		}
		wasAdmin, removed := false, false
		g.Members = slices.DeleteFunc(g.Members, func(m onrecord.GroupMember) bool {
			if m.Person == p.ID && !stays(m) {
				wasAdmin, removed = wasAdmin || m.Admin, true
				return true
			}
			return false
		})
		if !removed {
			continue
		}
		// The departing admin's manager (or the fallback role) takes over
		// even when other admins remain: someone accountable for them does.
		if wasAdmin {
			for _, h := range d.heirs(p) {
				heir := d.people[h]
				addr := heir.IdentityOn(g.Channel)
				if addr == "" {
					continue // cannot administer a group on a channel they are not on
				}
				if i := slices.IndexFunc(g.Members, func(m onrecord.GroupMember) bool { return m.Address == addr }); i >= 0 {
					g.Members[i].Admin = true
				} else {
					g.Members = append(g.Members, onrecord.GroupMember{Address: addr, Person: heir.ID, Name: heir.Name(), Admin: true})
				}
				if err := d.commit(ctx, Change{Op: OpAdminHandover, Actor: actor, Reason: why + ": admin of chat group " + g.Name,
					Person: &p, To: h, Chat: &g}); err != nil {
					return err
				}
				break
			}
		}
		g.Modified = d.opts.Now().UTC()
		if err := d.commit(ctx, Change{Op: OpChatGroupPut, Actor: actor, Reason: why + ": " + p.UserName + " removed", Chat: &g}); err != nil {
			return err
		}
	}
	return nil
}

func chatKey(channel, conversation string) string { return channel + "\x00" + conversation }

func cloneChat(g *onrecord.ChatGroup) onrecord.ChatGroup {
	c := *g
	c.Members = slices.Clone(g.Members)
	return c
}
