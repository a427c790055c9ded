package whatsapp

import (
	"bytes"
	"testing"

	"github.com/onrecord/onrecord"
)

// TestParse_StateSyncOneRecordPerContact feeds an "smb_app_state_sync"
// webhook written from Meta's smb_app_state_sync webhook reference (a
// contact added, one removed), with an item of another type and one that
// is not an object: the delivery is kept whole, then each item is its own
// record with its own bytes, a contact's in the contact's conversation
// (the wa_id form, as their chats and history thread are), naming them.
func TestParse_StateSyncOneRecordPerContact(t *testing.T) {
	c := mustConnector(t)
	body := readFixture(t, "state_sync.json")
	evs := parseFixture(t, c, body)
	const waba = "waba:102290129340398"
	wants := []want{
		{Kind: onrecord.KindSystem, ProviderID: "102290129340398:smb_app_state_sync:", Conversation: waba, Direction: onrecord.Inbound,
			Sender: onrecord.Party{ID: "meta", Name: "Meta"}, SentAt: 1772463400, Subtype: "smb_app_state_sync", Body: "smb_app_state_sync: messaging_product=whatsapp"},
		{Kind: onrecord.KindSystem, ProviderID: "102290129340398:smb_app_state_sync:", Conversation: jurgen.ID, Direction: onrecord.Inbound,
			Sender: biz, Recipients: []onrecord.Party{jurgen}, SentAt: 1772463200, Subtype: subtypeAppContact,
			Body: "Saved in the WhatsApp Business app's contacts as Jürgen Weiß",
			Meta: map[string]string{"action": "add", "contact_full_name": "Jürgen Weiß", "contact_first_name": "Jürgen",
				"contact_phone_number": "4915155500123", "phone_number_id": "106540352242922", "waba_id": "102290129340398"}},
		{Kind: onrecord.KindSystem, ProviderID: "102290129340398:smb_app_state_sync:", Conversation: "14155550123", Direction: onrecord.Inbound,
			Sender: biz, Recipients: []onrecord.Party{{ID: "14155550123"}}, SentAt: 1772463260, Subtype: subtypeAppContact,
			Body: "Removed from the WhatsApp Business app's contacts", Meta: map[string]string{"action": "remove", "contact_full_name": ""}},
		{Kind: onrecord.KindSystem, ProviderID: "102290129340398:smb_app_state_sync:", Conversation: waba, Direction: onrecord.Inbound,
			Sender: biz, SentAt: 1772463300, Subtype: "business_app_state", Body: "WhatsApp Business app state: label",
			Meta: map[string]string{"type": "label", "action": "add"}},
		{Kind: onrecord.KindSystem, ProviderID: "102290129340398:smb_app_state_sync:", Conversation: waba, Direction: onrecord.Inbound,
			Sender: biz, SentAt: 1772463400, Subtype: "business_app_state", Body: "WhatsApp Business app state: an item that could not be read"},
	}
	if len(evs) != len(wants) {
		t.Fatalf("got %d events, want %d: %+v", len(evs), len(wants), evs)
	}
	delivery := evs[0].ProviderID
	for i, w := range wants {
		ev := evs[i]
		if i == 0 {
			if ev.Raw != nil {
				t.Errorf("the delivery's record has Raw %q; the gateway keeps the whole body there", ev.Raw)
			}
		} else {
			if len(ev.Raw) == 0 || !bytes.Contains(body, ev.Raw) || bytes.Contains(ev.Raw, []byte("state_sync")) {
				t.Errorf("event %d: Raw %q is not its item of the body", i, ev.Raw)
			}
			if ev.Meta["state_sync_delivery"] != delivery || ev.Meta["field"] != "smb_app_state_sync" {
				t.Errorf("event %d: meta %v does not name the delivery %s", i, ev.Meta, delivery)
			}
			if ev.ProviderID == delivery {
				t.Errorf("event %d: the delivery's provider id", i)
			}
		}
		ev.Raw = nil
		checkEvent(t, i, ev, w)
	}
	// A retry gives the same ids: it is stored once.
	again := parseFixture(t, c, append([]byte(nil), body...))
	for i := range evs {
		if again[i].ProviderID != evs[i].ProviderID {
			t.Errorf("event %d: id %q on the retry, %q before", i, again[i].ProviderID, evs[i].ProviderID)
		}
	}
}
