package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/policy"
)

// Governed chat groups. onrecord does not create the group at the
// provider: the employee's app or the provider's own API does. What
// onrecord governs is whether the group may exist under the rules (who may
// create groups on which channel, members limited to entitled staff and
// consented contacts, admins by rule), and it records the roster with every
// message in it. A group conversation that was never registered here is
// still captured, and each of its messages is flagged ungoverned_group.

// groupRequest is the body of POST /api/v1/groups.
type groupRequest struct {
	From         string   `json:"from"`
	Channel      string   `json:"channel"`
	Conversation string   `json:"conversation"`
	Name         string   `json:"name"`
	Members      []string `json:"members"`
}

// membersRequest is the body of POST /api/v1/groups/{id}/members.
type membersRequest struct {
	From   string   `json:"from"`
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
}

func (a *App) groupRoutes(mux *http.ServeMux, auth func(http.HandlerFunc) http.HandlerFunc) {
	mux.HandleFunc("GET /api/v1/groups", auth(func(w http.ResponseWriter, r *http.Request) {
		writeJSONBody(w, http.StatusOK, map[string]any{"groups": a.Governance.Directory.ChatGroups()})
	}))
	mux.HandleFunc("GET /api/v1/groups/{id}", auth(func(w http.ResponseWriter, r *http.Request) {
		g, ok := a.Governance.Directory.ChatGroup(r.PathValue("id"))
		if !ok {
			writeJSONError(w, http.StatusNotFound, "no group "+r.PathValue("id"))
			return
		}
		writeJSONBody(w, http.StatusOK, g)
	}))
	mux.HandleFunc("POST /api/v1/groups", auth(a.createGroup))
	mux.HandleFunc("POST /api/v1/groups/{id}/members", auth(a.changeMembers))
}

// decode reads a small JSON body strictly, answering 400 itself.
func decode(w http.ResponseWriter, r *http.Request, v any, shape string) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSONError(w, http.StatusBadRequest, "body must be JSON "+shape+": "+err.Error())
		return false
	}
	return true
}

// refuseGroup records a refused group change and answers 403 with the
// structured reason.
func (a *App) refuseGroup(w http.ResponseWriter, r *http.Request, from, channel, conversation, what string, ref *policy.Refusal) {
	msg := &onrecord.Event{Channel: channel, Conversation: conversation, Group: true, Subtype: what}
	if err := a.Governance.recordDecision(r.Context(), from, msg, nil, ref); err != nil {
		writeJSONError(w, http.StatusServiceUnavailable, "refused, and the refusal could not be recorded: "+err.Error())
		return
	}
	writeJSONBody(w, http.StatusForbidden, map[string]any{"error": "refused: " + ref.Message, "code": ref.Code})
}

// createGroup is POST /api/v1/groups: an employee brings a group
// conversation under governance. The creator's role must allow groups on
// the channel, every member must be an entitled employee or a consented
// contact; the creator and members whose role administers groups on the
// channel become admins.
func (a *App) createGroup(w http.ResponseWriter, r *http.Request) {
	var in groupRequest
	if !decode(w, r, &in, "{from, channel, conversation, name, members}") {
		return
	}
	if in.Channel == "" || strings.TrimSpace(in.Conversation) == "" || strings.TrimSpace(in.Name) == "" {
		writeJSONError(w, http.StatusBadRequest, "channel, conversation (the provider's group id) and name are required")
		return
	}
	if !a.Gateway.HasChannel(in.Channel) {
		writeJSONError(w, http.StatusNotFound, "no channel named "+in.Channel)
		return
	}
	gov := a.Governance
	creator, ok := gov.Directory.Find(in.From)
	if !ok {
		a.refuseGroup(w, r, in.From, in.Channel, in.Conversation, "group.create",
			&policy.Refusal{Code: policy.NotInDirectory, Message: fmt.Sprintf("from %q is not an employee in the directory", in.From)})
		return
	}
	if ref := gov.Gate.CheckGroup(creator.ID, in.Channel, in.Members, gov.Directory.ByIdentity); ref != nil {
		a.refuseGroup(w, r, creator.ID, in.Channel, in.Conversation, "group.create", ref)
		return
	}
	g := onrecord.ChatGroup{Channel: in.Channel, Conversation: in.Conversation, Name: in.Name, CreatedBy: creator.ID}
	own := creator.IdentityOn(in.Channel)
	g.Members = append(g.Members, onrecord.GroupMember{Address: own, Person: creator.ID, Name: creator.Name(), Admin: true})
	for _, addr := range in.Members {
		if addr != own && !slices.ContainsFunc(g.Members, func(m onrecord.GroupMember) bool { return m.Address == addr }) {
			g.Members = append(g.Members, a.member(in.Channel, addr))
		}
	}
	g, err := gov.Directory.PutChatGroup(r.Context(), creator.ID, "created by "+creator.UserName, g)
	switch {
	case onrecord.ErrorCode(err) == onrecord.ECONFLICT:
		writeJSONError(w, http.StatusConflict, err.Error())
	case onrecord.ErrorCode(err) == onrecord.EINVALID:
		writeJSONError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		writeJSONError(w, http.StatusServiceUnavailable, "not created: "+err.Error())
	default:
		writeJSONBody(w, http.StatusCreated, g)
	}
}

// changeMembers is POST /api/v1/groups/{id}/members: an admin adds
// members (under the same rules as at creation) or removes them.
func (a *App) changeMembers(w http.ResponseWriter, r *http.Request) {
	var in membersRequest
	if !decode(w, r, &in, "{from, add, remove}") {
		return
	}
	gov := a.Governance
	g, ok := gov.Directory.ChatGroup(r.PathValue("id"))
	if !ok {
		writeJSONError(w, http.StatusNotFound, "no group "+r.PathValue("id"))
		return
	}
	by, ok := gov.Directory.Find(in.From)
	if !ok {
		a.refuseGroup(w, r, in.From, g.Channel, g.Conversation, "group.members",
			&policy.Refusal{Code: policy.NotInDirectory, Message: fmt.Sprintf("from %q is not an employee in the directory", in.From)})
		return
	}
	if m, ok := g.Member(by.IdentityOn(g.Channel)); !ok || !m.Admin || m.Person != by.ID || !by.Active {
		a.refuseGroup(w, r, by.ID, g.Channel, g.Conversation, "group.members",
			&policy.Refusal{Code: policy.GroupNotAllowed, Message: by.UserName + " is not an admin of " + g.Name})
		return
	}
	for _, addr := range in.Add {
		if ref := gov.Gate.CheckMember(g.Channel, addr, gov.Directory.ByIdentity); ref != nil {
			a.refuseGroup(w, r, by.ID, g.Channel, g.Conversation, "group.members", ref)
			return
		}
		if _, ok := g.Member(addr); !ok {
			g.Members = append(g.Members, a.member(g.Channel, addr))
		}
	}
	g.Members = slices.DeleteFunc(g.Members, func(m onrecord.GroupMember) bool { return slices.Contains(in.Remove, m.Address) })
	g, err := gov.Directory.PutChatGroup(r.Context(), by.ID, "members changed by "+by.UserName, g)
	switch {
	case onrecord.ErrorCode(err) == onrecord.EINVALID:
		writeJSONError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		writeJSONError(w, http.StatusServiceUnavailable, "not changed: "+err.Error())
	default:
		writeJSONBody(w, http.StatusOK, g)
	}
}

// member describes address on channel as a group member: an employee
// (admin when their role administers groups on the channel) or a contact.
func (a *App) member(channel, addr string) onrecord.GroupMember {
	if p, ok := a.Governance.Directory.ByIdentity(channel, addr); ok {
		return onrecord.GroupMember{Address: addr, Person: p.ID, Name: p.Name(), Admin: a.administers(p.Role, channel)}
	}
	m := onrecord.GroupMember{Address: addr}
	if ct, ok := a.Governance.Contacts.Lookup(channel, addr); ok {
		m.Name = ct.Name
	}
	return m
}

// administers says whether role makes its members admins of the groups
// they are in on channel (role.administer_groups).
func (a *App) administers(role, channel string) bool {
	for _, r := range a.Config.Roles {
		if r.Name == role {
			return slices.Contains(r.AdministerGroups, channel) || slices.Contains(r.AdministerGroups, "*")
		}
	}
	return false
}

// annotate is the gateway's capture hook: a group conversation's roster
// as it is now, and flags for what supervision should see — a group that
// was never brought under governance, a sender not on its roster, a
// sender outside who is not a consented contact. The standing of senders
// is only judged when governance is enforced (roles configured).
func (g *Governance) annotate(enforce bool) func(ev *onrecord.Event) {
	return func(ev *onrecord.Event) {
		switch ev.Kind {
		case onrecord.KindMessage, onrecord.KindEdit, onrecord.KindDelete, onrecord.KindReaction:
		default:
			return
		}
		var c onrecord.Capture
		chat, governed := g.Directory.ChatGroupAt(ev.Channel, ev.Conversation)
		if governed {
			c.GroupID, c.Roster = chat.ID, chat.Members
		}
		if enforce && ev.Group && !governed && ev.Kind == onrecord.KindMessage {
			c.Flags = append(c.Flags, onrecord.FlagUngovernedGroup)
		}
		if enforce && ev.Direction == onrecord.Inbound {
			if governed {
				if _, ok := chat.Member(ev.Sender.ID); !ok {
					c.Flags = append(c.Flags, onrecord.FlagNotAMember)
				}
			}
			if f := g.standing(ev); f != "" {
				c.Flags = append(c.Flags, f)
			}
		}
		if c.GroupID != "" || len(c.Flags) > 0 {
			ev.Capture = &c
		}
	}
}

// groupSend turns a message to a governed group into a message to its
// roster: the sender must be an admin or member on the roster, and every
// other member is a recipient the gate checks (staff entitled, contacts
// consented). It returns false when to is not a governed group.
func (g *Governance) groupSend(sender onrecord.Person, msg *onrecord.Event) (bool, *policy.Refusal) {
	chat, ok := g.Directory.ChatGroupAt(msg.Channel, msg.Conversation)
	if !ok {
		return false, nil
	}
	own := sender.IdentityOn(msg.Channel)
	if m, ok := chat.Member(own); !ok || m.Person != sender.ID {
		return true, &policy.Refusal{Code: policy.MemberNotAllowed, Message: sender.UserName + " is not a member of " + chat.Name}
	}
	msg.Group, msg.GroupName = true, chat.Name
	msg.Recipients = msg.Recipients[:0]
	for _, m := range chat.Members {
		if m.Address != own {
			msg.Recipients = append(msg.Recipients, onrecord.Party{ID: m.Address, Name: m.Name})
		}
	}
	msg.Capture = &onrecord.Capture{GroupID: chat.ID, Roster: chat.Members}
	return true, nil
}

// standing is the flag an inbound sender earns: none for staff or a
// consented contact, else unknown or unconsented. A sender is looked up by
// every address the consent answer would be (answerAddresses: Signal's
// number beside its uuid, Twilio's whatsapp: form), but never by a group's
// id.
func (g *Governance) standing(ev *onrecord.Event) string {
	addrs := answerAddresses(ev)
	if ev.Group {
		addrs = slices.DeleteFunc(addrs, func(s string) bool { return s == ev.Conversation })
	}
	flag := onrecord.FlagUnknownContact
	for _, addr := range addrs {
		if _, staff := g.Directory.ByIdentity(ev.Channel, addr); staff {
			return ""
		}
		if state, known := g.Contacts.ConsentState(ev.Channel, addr); known {
			if state == "accepted" {
				return ""
			}
			flag = onrecord.FlagUnconsentedContact
		}
	}
	return flag
}
