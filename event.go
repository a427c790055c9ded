// Package onrecord holds the domain types every part of the archive shares:
// the canonical event a connector produces and the archive seals, the error
// type with codes, and the names of things. Implementations live in
// internal/ packages; only internal/app wires them together.
package onrecord

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// EventKind is what happened on a channel.
type EventKind string

const (
	KindMessage  EventKind = "message"
	KindEdit     EventKind = "edit"
	KindDelete   EventKind = "delete"
	KindReaction EventKind = "reaction"
	KindStatus   EventKind = "status"
	// KindSystem is a channel or account event with no message content of
	// its own: a number change, a business connection, a member joining.
	KindSystem EventKind = "system"
	// KindUnparsed is a correctly signed delivery the connector could not
	// read; Raw holds it byte for byte so it can be re-parsed later.
	KindUnparsed EventKind = "unparsed"
)

// Valid reports whether k is one of the kinds the archive knows.
func (k EventKind) Valid() bool {
	switch k {
	case KindMessage, KindEdit, KindDelete, KindReaction, KindStatus, KindSystem, KindUnparsed:
		return true
	}
	return false
}

// Direction says whether the organisation received or sent the event.
type Direction string

const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// Party is a sender or recipient as the channel identifies them, with the
// name resolved at capture time.
type Party struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Attachment is a file carried by an event. Data is plaintext in memory
// only: the archive seals it into the blob store when the event is
// appended and keeps the reference (Blob, BlobKey, Size, SHA256) inside
// the sealed record; reading the record back leaves Data empty until the
// file is asked for.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data_base64,omitempty"`
	// Blob is the sealed file's content address (a keyed hash, not a bare
	// digest of the plaintext); BlobKey opens it. Both live only inside the
	// sealed record, so disposing of the record disposes of the file.
	Blob    string `json:"blob,omitempty"`
	BlobKey []byte `json:"blob_key,omitempty"`
	Size    int64  `json:"size,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	// Ref is the provider's reference the file was fetched from (media id,
	// file id, URL), kept so a failed fetch can be retried and audited.
	Ref string `json:"ref,omitempty"`
	// Error records why the file could not be fetched; Data is then empty.
	Error string `json:"error,omitempty"`
}

// Event is the canonical event: one thing that happened on one channel,
// normalised from whatever the provider sent. It is the plaintext that a
// record seals.
type Event struct {
	// ID is the archive's record id (hex), set when the event is sealed.
	ID           string    `json:"id,omitempty"`
	Channel      string    `json:"channel"`
	Kind         EventKind `json:"kind"`
	ProviderID   string    `json:"provider_id"`
	Conversation string    `json:"conversation"`
	Direction    Direction `json:"direction"`
	Sender       Party     `json:"sender"`
	Recipients   []Party   `json:"recipients,omitempty"`
	// RecipientsBlob holds the recipients instead of Recipients in a
	// stored record when they are more than the archive keeps inline (a
	// message to a group of hundreds): a sealed blob of their JSON array,
	// like Capture.RosterBlob. The archive puts Recipients back when it
	// reads the record.
	RecipientsBlob *Attachment `json:"recipients_blob,omitempty"`
	SentAt         time.Time   `json:"sent_at"`
	// SentAtIsReceipt says the provider gave no time for the event, so
	// SentAt is when onrecord received it. A provider's retry then differs
	// only in that time and is still recognised as the same event.
	SentAtIsReceipt bool      `json:"sent_at_is_receipt,omitempty"`
	CapturedAt      time.Time `json:"captured_at,omitzero"`
	Body            string    `json:"body,omitempty"`
	// BodyBlob holds Body instead of the record in a stored record when
	// the text, as encoded, is larger than the archive keeps inline (a
	// 40,000-character Slack message in a multi-byte script): a sealed blob
	// like an attachment's, so that the record stays small enough for a
	// log entry bundle (64 KiB). The archive puts the text back in Body
	// when it reads the record; only a record opened outside it (an export
	// bundle's disclosed record) shows BodyBlob.
	BodyBlob    *Attachment  `json:"body_blob,omitempty"`
	Target      string       `json:"target,omitempty"`
	Emoji       string       `json:"emoji,omitempty"`
	Status      string       `json:"status,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// Subtype says what kind of content a message carries as the provider
	// names it ("text", "image", "location", "sticker", "customer_changed_number"...).
	Subtype string `json:"subtype,omitempty"`
	// ReplyTo is the provider_id of the message this one quotes or answers.
	ReplyTo string `json:"reply_to,omitempty"`
	// Thread is the provider's thread id when the channel has threads.
	Thread    string `json:"thread,omitempty"`
	Forwarded bool   `json:"forwarded,omitempty"`
	// Group is set for group and channel conversations.
	Group     bool   `json:"group,omitempty"`
	GroupName string `json:"group_name,omitempty"`
	// ExpiresInSeconds is the sender's disappearing-message timer; the
	// archive keeps the record regardless.
	ExpiresInSeconds int `json:"expires_in_seconds,omitempty"`
	// StatusError carries a failed status's error details.
	StatusError string `json:"status_error,omitempty"`
	// Meta holds structured content that has no field of its own
	// (coordinates, shared contacts, button payloads), as the provider gave it.
	Meta map[string]string `json:"meta,omitempty"`
	// Capture is what onrecord knew when it captured the event (the
	// group's roster, the sender's standing), sealed with it.
	Capture *Capture `json:"capture,omitempty"`
	// RetentionClass names the retention class the record is kept under.
	RetentionClass string `json:"retention_class,omitempty"`
	// Raw is the provider's payload exactly as received, when there was one.
	Raw []byte `json:"raw,omitempty"`
	// RawBlob holds that payload instead of Raw in a stored record when it
	// is larger than the archive keeps inline (a WhatsApp history chunk, a
	// megabyte that could not be parsed): a sealed blob like an
	// attachment's, so that the record stays small enough for a log entry
	// bundle (64 KiB). Archive.Raw reads it back.
	RawBlob *Attachment `json:"raw_blob,omitempty"`
}

// Capture is onrecord's own knowledge at capture time, beside what the
// provider said. It is not part of the provider's content: a provider's
// retry after the roster changed is still the same event.
type Capture struct {
	// GroupID is the governed chat group the conversation belongs to;
	// Roster is its membership when the event was captured.
	GroupID string        `json:"group_id,omitempty"`
	Roster  []GroupMember `json:"roster,omitempty"`
	// RosterBlob holds the roster instead of Roster in a stored record when
	// it is longer than the archive keeps inline: a sealed blob of the
	// roster's JSON array, which every message of the group captured under
	// the same membership shares (blobs are addressed by content), so that
	// a group of thousands neither makes each record too large for a log
	// entry bundle (64 KiB) nor stores its membership once per message.
	// The archive puts Roster back when it reads the record.
	RosterBlob *Attachment `json:"roster_blob,omitempty"`
	// Flags say what supervision should look at: FlagUnknownContact,
	// FlagUnconsentedContact, FlagUngovernedGroup, FlagNotAMember.
	Flags []string `json:"flags,omitempty"`
}

// Capture flags.
const (
	// FlagUnknownContact: inbound from someone who is neither an employee
	// nor an approved contact on the channel.
	FlagUnknownContact = "unknown_contact"
	// FlagUnconsentedContact: inbound from an approved contact who has not
	// accepted the notice (pending, declined or expired).
	FlagUnconsentedContact = "unconsented_contact"
	// FlagUngovernedGroup: a group conversation that was not created under
	// the group rules.
	FlagUngovernedGroup = "ungoverned_group"
	// FlagNotAMember: a message in a governed group from someone not on
	// its roster (added outside the rules).
	FlagNotAMember = "not_a_member"
)

// CaptureFlags are every capture flag, for validating searches.
var CaptureFlags = []string{FlagUnknownContact, FlagUnconsentedContact, FlagUngovernedGroup, FlagNotAMember}

// FieldError names the field of an event that is not valid.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %s", e.Field, e.Problem) }

// Validate checks an event the way the archive needs it: the fields that
// identify it and say what happened are present and well formed.
func (e *Event) Validate() error {
	req := func(field, v string) error {
		if strings.TrimSpace(v) == "" {
			return &FieldError{field, "is required"}
		}
		if !utf8.ValidString(v) {
			return &FieldError{field, "is not valid UTF-8"}
		}
		return nil
	}
	if e.Kind == KindUnparsed {
		// All an unreadable delivery has is where it came from and its bytes.
		if err := req("channel", e.Channel); err != nil {
			return err
		}
		if len(e.Raw) == 0 && e.RawBlob == nil {
			return &FieldError{"raw", "is required for an unparsed record"}
		}
		return req("provider_id", e.ProviderID)
	}
	for _, f := range []struct{ name, v string }{
		{"channel", e.Channel}, {"provider_id", e.ProviderID}, {"conversation", e.Conversation}, {"sender.id", e.Sender.ID},
	} {
		if err := req(f.name, f.v); err != nil {
			return err
		}
	}
	if !e.Kind.Valid() {
		return &FieldError{"kind", fmt.Sprintf("%q is not one of message, edit, delete, reaction, status, system, unparsed", e.Kind)}
	}
	if e.Direction != Inbound && e.Direction != Outbound {
		return &FieldError{"direction", fmt.Sprintf("%q is not inbound or outbound", e.Direction)}
	}
	if e.SentAt.IsZero() {
		return &FieldError{"sent_at", "is required (RFC 3339)"}
	}
	switch e.Kind {
	case KindEdit, KindDelete, KindReaction, KindStatus:
		if err := req("target", e.Target); err != nil {
			return &FieldError{"target", fmt.Sprintf("is required for kind %q (the provider_id it refers to)", e.Kind)}
		}
	}
	if e.Kind == KindStatus {
		if err := req("status", e.Status); err != nil {
			return err
		}
	}
	// The field names are formatted only for an error: Validate runs twice
	// for every captured event.
	for i, p := range e.Recipients {
		if req("", p.ID) != nil {
			return req(fmt.Sprintf("recipients[%d].id", i), p.ID)
		}
	}
	for i, a := range e.Attachments {
		if req("", a.Name) != nil {
			return req(fmt.Sprintf("attachments[%d].name", i), a.Name)
		}
	}
	if !utf8.ValidString(e.Body) {
		return &FieldError{"body", "is not valid UTF-8"}
	}
	return nil
}

// IdempotencyKey is what makes a provider retry recognisable:
// (channel, provider id, kind) is unique in the archive.
func (e *Event) IdempotencyKey() string {
	return e.Channel + "\x00" + e.ProviderID + "\x00" + string(e.Kind)
}
