package onrecord

import "time"

// Person is someone in the organisation's directory, as provisioned by
// SCIM or the CLI. Attributes are recorded as they were at each change, so
// a message is always attributed to the person as they were then.
type Person struct {
	ID          string `json:"id"`
	UserName    string `json:"user_name"`
	ExternalID  string `json:"external_id,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	GivenName   string `json:"given_name,omitempty"`
	FamilyName  string `json:"family_name,omitempty"`
	Email       string `json:"email,omitempty"`
	Department  string `json:"department,omitempty"`
	Title       string `json:"title,omitempty"`
	// Role names the role whose channel entitlements apply.
	Role      string `json:"role,omitempty"`
	Seniority string `json:"seniority,omitempty"`
	// Official is false for someone who uses a non-official account for
	// federal business: their messages are tracked against the 20-day
	// rule of 44 U.S.C. 2911.
	Official bool `json:"official"`
	Active   bool `json:"active"`
	// Manager is the id of the person's manager.
	Manager string `json:"manager,omitempty"`
	// Identities are the person's business identities per channel.
	Identities []Identity `json:"identities,omitempty"`
	Created    time.Time  `json:"created"`
	Modified   time.Time  `json:"modified"`
}

// Name is how the person is shown.
func (p *Person) Name() string {
	switch {
	case p.DisplayName != "":
		return p.DisplayName
	case p.GivenName != "" || p.FamilyName != "":
		return p.GivenName + " " + p.FamilyName
	}
	return p.UserName
}

// IdentityOn returns the person's business address on channel, or "".
func (p *Person) IdentityOn(channel string) string {
	for _, id := range p.Identities {
		if id.Channel == channel {
			return id.Address
		}
	}
	return ""
}

// Identity is a business identity on one channel: a phone number, a
// handle, a bot connection.
type Identity struct {
	Channel string `json:"channel"`
	Address string `json:"address"`
}

// Group is a directory group (a team, a desk) as provisioned by SCIM.
type Group struct {
	ID          string    `json:"id"`
	DisplayName string    `json:"display_name"`
	ExternalID  string    `json:"external_id,omitempty"`
	Members     []string  `json:"members,omitempty"`
	Created     time.Time `json:"created"`
	Modified    time.Time `json:"modified"`
}

// ChatGroup is a group conversation on one channel that onrecord governs:
// created under the group rules (who may create groups on which channel,
// members limited to entitled staff and consented contacts, admins by
// rule), with its roster kept so that every group message is recorded with
// the members as they were.
type ChatGroup struct {
	ID      string `json:"id"`
	Channel string `json:"channel"`
	// Conversation is the provider's id of the group, as captured events
	// carry it in Event.Conversation.
	Conversation string        `json:"conversation"`
	Name         string        `json:"name"`
	CreatedBy    string        `json:"created_by"` // a person id
	Members      []GroupMember `json:"members"`
	Created      time.Time     `json:"created"`
	Modified     time.Time     `json:"modified"`
}

// GroupMember is one member of a chat group.
type GroupMember struct {
	// Address is the member's identity on the group's channel.
	Address string `json:"address"`
	// Person is the employee's id; empty for an external contact.
	Person string `json:"person,omitempty"`
	Name   string `json:"name,omitempty"`
	Admin  bool   `json:"admin,omitempty"`
}

// Member returns the member with address, if there is one.
func (g *ChatGroup) Member(address string) (GroupMember, bool) {
	for _, m := range g.Members {
		if m.Address == address {
			return m, true
		}
	}
	return GroupMember{}, false
}
