package meta

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/onrecord/onrecord"
)

// Consent states of an external contact.
const (
	ConsentPending  = "pending"
	ConsentAccepted = "accepted"
	ConsentDeclined = "declined"
	ConsentExpired  = "expired"
)

// Contact is an external party an employee talks to on one channel.
type Contact struct {
	ID      string `json:"id"`
	Channel string `json:"channel"`
	Address string `json:"address"`
	Name    string `json:"name,omitempty"`
	// AddedBy is the person (directory id) who added the contact.
	AddedBy     string    `json:"added_by"`
	State       string    `json:"state"`
	Language    string    `json:"language,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	AnsweredAt  time.Time `json:"answered_at,omitzero"`
	// Answer is the reply that decided (keyword or button payload).
	Answer string `json:"answer,omitempty"`
}

// ConsentText is the notice and request sent to a new contact, per
// language; {org} and {name} are filled in.
type ConsentText struct {
	Language string   `json:"language"`
	Notice   string   `json:"notice"`
	Accept   []string `json:"accept"`
	Decline  []string `json:"decline"`
}

// DefaultConsentText is the English text; jurisdictions configure their own.
var DefaultConsentText = ConsentText{
	Language: "en",
	Notice: "{org}: {name} would like to message you here. Our messages on this channel are recorded and kept " +
		"as required by law. Reply YES to accept or NO to decline.",
	Accept:  []string{"yes", "y", "accept", "i accept", "ok", "consent"},
	Decline: []string{"no", "n", "decline", "stop", "unsubscribe"},
}

// ConsentSender sends the consent request through the contact's channel.
type ConsentSender interface {
	SendConsent(ctx context.Context, channel, to, text string) error
}

// ContactOptions configure a Contacts registry.
type ContactOptions struct {
	Recorder Recorder
	Sender   ConsentSender
	Org      string
	Texts    []ConsentText
	// TTL is how long a request waits for an answer (default 7 days).
	TTL time.Duration
	Now func() time.Time
}

// Contacts is the registry of external contacts and their consent.
type Contacts struct {
	opts ContactOptions
	mu   sync.RWMutex
	byID map[string]*Contact
	// latest is each address's latest request: what find answers, in
	// constant time, since every inbound message is looked up.
	latest map[contactKey]*Contact
}

// Contact change operations.
const (
	OpContactPut = "contact.put"
)

// NewContacts returns an empty registry.
func NewContacts(opts ContactOptions) *Contacts {
	if opts.TTL == 0 {
		opts.TTL = 7 * 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.Texts) == 0 {
		opts.Texts = []ConsentText{DefaultConsentText}
	}
	if opts.Org == "" {
		opts.Org = "Our organisation"
	}
	return &Contacts{opts: opts, byID: map[string]*Contact{}, latest: map[contactKey]*Contact{}}
}

// SetSender sets where consent requests are sent (the gateway, which is
// built after the registry).
func (c *Contacts) SetSender(s ConsentSender) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opts.Sender = s
}

// ReplayContact applies a recorded contact change.
func (c *Contacts) ReplayContact(ct Contact) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.put(ct)
}

// put stores ct and keeps the latest request per address. Called with mu
// held.
func (c *Contacts) put(ct Contact) {
	x := &ct
	c.byID[x.ID] = x
	k := contactKey{x.Channel, x.Address}
	if cur := c.latest[k]; cur == nil || cur.ID == x.ID || x.RequestedAt.After(cur.RequestedAt) ||
		(x.RequestedAt.Equal(cur.RequestedAt) && x.ID > cur.ID) {
		c.latest[k] = x
	}
}

type contactKey struct{ channel, address string }

func (c *Contacts) commit(ctx context.Context, actor, reason string, ct Contact) error {
	if c.opts.Recorder != nil {
		if err := c.opts.Recorder.Record(ctx, Change{Op: OpContactPut, At: c.opts.Now().UTC(), Actor: actor, Reason: reason, Contact: &ct}); err != nil {
			return fmt.Errorf("contacts: record: %w", err)
		}
	}
	c.put(ct)
	return nil
}

func (c *Contacts) text(lang string) ConsentText {
	for _, t := range c.opts.Texts {
		if t.Language == lang {
			return t
		}
	}
	return c.opts.Texts[0]
}

// find returns the contact for (channel, address): its latest request.
// Asking again after a request expired adds a new request beside the
// expired one (both stay on the record), so there can be several; the
// order of the map must not decide which one counts. Called with mu held.
func (c *Contacts) find(channel, address string) *Contact {
	return c.latest[contactKey{channel, address}]
}

// Add registers a contact for employee by and sends the one-time notice
// and consent request. Adding a contact that already accepted changes
// nothing; one that declined is not asked again.
func (c *Contacts) Add(ctx context.Context, by onrecord.Person, channel, address, name, lang string) (Contact, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if channel == "" || address == "" {
		return Contact{}, onrecord.Errorf(onrecord.EINVALID, "channel and address are required")
	}
	if ct := c.find(channel, address); ct != nil {
		switch ct.State {
		case ConsentAccepted, ConsentPending:
			return *ct, nil
		case ConsentDeclined:
			return *ct, onrecord.Errorf(onrecord.EFORBIDDEN, "the contact declined on %s; they are not asked again", ct.AnsweredAt.Format(time.DateOnly))
		}
	}
	now := c.opts.Now().UTC()
	ct := Contact{ID: NewID(), Channel: channel, Address: address, Name: name, AddedBy: by.ID, State: ConsentPending,
		Language: c.text(lang).Language, RequestedAt: now, ExpiresAt: now.Add(c.opts.TTL)}
	// The request is on the record before it is sent.
	if err := c.commit(ctx, by.ID, "consent requested", ct); err != nil {
		return Contact{}, err
	}
	t := c.text(lang)
	msg := strings.NewReplacer("{org}", c.opts.Org, "{name}", by.Name()).Replace(t.Notice)
	if c.opts.Sender != nil {
		if err := c.opts.Sender.SendConsent(ctx, channel, address, msg); err != nil {
			return ct, fmt.Errorf("consent request recorded but not sent: %w", err)
		}
	}
	return ct, nil
}

// Answer applies an inbound message from (channel, address) to a pending
// request: an accept or decline keyword (or button payload) decides it.
// It reports whether the message was a consent answer.
func (c *Contacts) Answer(ctx context.Context, channel, address, reply string) (Contact, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ct := c.find(channel, address)
	if ct == nil || ct.State != ConsentPending {
		return Contact{}, false, nil
	}
	now := c.opts.Now().UTC()
	if !now.Before(ct.ExpiresAt) {
		return *ct, false, nil // expired: the sweep records it
	}
	norm := strings.ToLower(strings.Trim(strings.TrimSpace(reply), ".!"))
	t := c.text(ct.Language)
	next := *ct
	switch {
	case slices.Contains(t.Accept, norm):
		next.State = ConsentAccepted
	case slices.Contains(t.Decline, norm):
		next.State = ConsentDeclined
	default:
		return *ct, false, nil
	}
	next.AnsweredAt, next.Answer = now, norm
	if err := c.commit(ctx, "contact:"+address, "consent "+next.State, next); err != nil {
		return *ct, false, err
	}
	return next, true, nil
}

// Expire marks every pending request past its deadline as expired.
func (c *Contacts) Expire(ctx context.Context) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now().UTC()
	n := 0
	for _, ct := range c.sorted() {
		if ct.State == ConsentPending && !now.Before(ct.ExpiresAt) {
			next := ct
			next.State = ConsentExpired
			if err := c.commit(ctx, "system", "consent request expired unanswered", next); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// CanSend says whether anything may be sent to (channel, address): only to
// a contact who accepted. The error explains why not.
func (c *Contacts) CanSend(channel, address string) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ct := c.find(channel, address)
	switch {
	case ct == nil:
		return onrecord.Errorf(onrecord.EFORBIDDEN, "%s on %s is not an approved contact", address, channel)
	case ct.State != ConsentAccepted:
		return onrecord.Errorf(onrecord.EFORBIDDEN, "%s on %s has not accepted (consent %s)", address, channel, ct.State)
	}
	return nil
}

// ConsentState is the consent state of (channel, address); false for a
// contact nobody added.
func (c *Contacts) ConsentState(channel, address string) (string, bool) {
	ct, ok := c.Lookup(channel, address)
	return ct.State, ok
}

// Lookup returns the contact for (channel, address).
func (c *Contacts) Lookup(channel, address string) (Contact, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if ct := c.find(channel, address); ct != nil {
		return *ct, true
	}
	return Contact{}, false
}

// sorted returns the contacts ordered by request time. Called with mu held.
func (c *Contacts) sorted() []Contact {
	out := make([]Contact, 0, len(c.byID))
	for _, ct := range c.byID {
		out = append(out, *ct)
	}
	slices.SortFunc(out, func(a, b Contact) int { return cmp.Compare(a.RequestedAt.UnixNano(), b.RequestedAt.UnixNano()) })
	return out
}
