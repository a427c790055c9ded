package signalsim

import (
	"crypto/sha256"
	"encoding/base64"
)

// person is someone with a Signal account. Number is empty for people who
// hide their number (phone number privacy): signal-cli then knows only the
// ACI.
type person struct {
	UUID, Number, Name string
}

// id is how signal-cli's legacy "source"/"author" field names them.
func (p person) id() string {
	if p.Number != "" {
		return p.Number
	}
	return p.UUID
}

// Harbor Bank's wealth-management clients.
var clients = []person{
	{UUID: "8d2f4b6a-1c3e-4f5a-9b7c-2e4d6f8a0b11", Number: "+15550111", Name: "Marcus Chen"},
	{UUID: "c7e1a9d3-5b2f-4e6c-8a0d-3f5b7c9e1d22", Number: "+15550122", Name: "Priya Raman"},
	{UUID: "1a3c5e7f-9b2d-4f6a-8c0e-4d6f8a0b2c33", Number: "+15550133", Name: "Elena Petrova"},
	{UUID: "e4b6d8f0-2a4c-4e6a-9c1e-5f7a9b1c3d44", Number: "+15550144", Name: "Tomás Álvarez"},
	{UUID: "3b5d7f9a-1c3e-4a6c-8e0a-6a8b0c2d4e55", Number: "+15550155", Name: "Grace Okafor"},
	{UUID: "9f1b3d5e-7a9c-4b2d-8f4a-7b9c1d3e5f66", Name: "Henry Liu"},
}

// Colleagues of the account holder who sit in client groups.
var colleagues = []person{
	{UUID: "2c4e6a8b-0d2f-4a6c-9e1b-8c0d2e4f6a77", Number: "+15550177", Name: "Jordan Blake"},
	{UUID: "7e9a1c3d-5f7b-4d9e-8a2c-9d1e3f5a7b88", Number: "+15550188", Name: "Sam Whitaker"},
}

type group struct {
	Name    string
	Members []person
}

func (g *group) id() string {
	h := sha256.Sum256([]byte("signalsim group " + g.Name))
	return base64.StdEncoding.EncodeToString(h[:])
}

var groups = []*group{
	{Name: "Chen Family Office · Harbor Bank", Members: []person{clients[0], clients[2], colleagues[0]}},
	{Name: "Raman Trust Committee", Members: []person{clients[1], clients[3], clients[4], colleagues[1]}},
}

func byNumber(n string) (person, bool) {
	for _, p := range append(append([]person{}, clients...), colleagues...) {
		if p.Number == n {
			return p, true
		}
	}
	return person{}, false
}

func groupMembers(id string) []person {
	for _, g := range groups {
		if g.id() == id {
			return g.Members
		}
	}
	return nil
}

var clientTexts = []string{
	"Hi Dana, can we move the call about the bond ladder to Thursday?",
	"I saw the Fed minutes. Should we rebalance the fixed-income sleeve?",
	"Please confirm the wire to the escrow account went out today.",
	"What's the current yield on the 2-year Treasury you mentioned?",
	"Can you send me the Q1 statement for the trust account?",
	"I'd like to add $250k to the municipal bond portfolio.",
	"Is the 529 contribution deadline the same this year?",
	"Thanks, that answers it. Speak next week.",
	"My accountant needs the cost-basis report for the Apple lot.",
	"Could we discuss a charitable remainder trust at our next review?",
	"Running 10 minutes late for our meeting, sorry!",
	"Please don't sell the Microsoft position before year end.",
	"Who should I call about the margin notice I received?",
	"Love the new portfolio dashboard 👍",
	"Heard from the CFO the merger is still confidential, should I buy before the announcement?",
}

var employeeTexts = []string{
	"Thursday at 10:00 works, I've sent an updated invite.",
	"The wire was released at 14:05 ET; reference HB-20417.",
	"I'll have the statement to you by end of day.",
	"Let's review the allocation together before making changes.",
	"The 2-year is at 4.12% as of this morning's close.",
	"Noted. I'll bring a proposal to our next review.",
	"Compliance reminder: please don't send account numbers over chat.",
	"I've flagged this for our tax specialist, Sam Whitaker.",
	"Good morning! Markets opened flat; nothing needed from you today.",
	"Confirmed, no trades on that position without your instruction.",
	"It's risk free, you can't lose on this one.",
}

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func intp(i int) *int { return &i }
