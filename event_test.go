package onrecord

import (
	"errors"
	"testing"
	"time"
)

func TestEvent_ValidateNamesTheField(t *testing.T) {
	valid := func() *Event {
		return &Event{Channel: "wa", Kind: KindMessage, ProviderID: "p1", Conversation: "c1", Direction: Inbound,
			Sender: Party{ID: "+1555"}, Recipients: []Party{{ID: "+1666"}, {ID: "+1777"}},
			SentAt: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC), Attachments: []Attachment{{Name: "a.pdf"}}}
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Event)
		field string // "" for valid
	}{
		{"valid", func(*Event) {}, ""},
		{"second recipient without id", func(e *Event) { e.Recipients[1].ID = " " }, "recipients[1].id"},
		{"recipient id not UTF-8", func(e *Event) { e.Recipients[0].ID = "\xff" }, "recipients[0].id"},
		{"attachment without name", func(e *Event) { e.Attachments[0].Name = "" }, "attachments[0].name"},
		{"status without target", func(e *Event) { e.Kind, e.Status = KindStatus, "read" }, "target"},
		{"body not UTF-8", func(e *Event) { e.Body = "\xc3" }, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := valid()
			tc.edit(e)
			err := e.Validate()
			var fe *FieldError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
				t.Fatalf("Validate = %v, want an error naming %q", err, tc.field)
			}
		})
	}
}
