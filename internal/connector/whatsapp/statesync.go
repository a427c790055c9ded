package whatsapp

import (
	"fmt"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// subtypeAppContact is the subtype of a record of one change to the
// WhatsApp Business app's address book.
const subtypeAppContact = "business_app_contact"

// stateSync maps an "smb_app_state_sync" change: the address book of the
// WhatsApp Business app on a number onboarded to coexistence, sent whole
// when the partner asks for a sync and then for each contact the business
// adds, edits or removes. The delivery is kept whole in one system record,
// as any other field; then each contact change is its own record, with
// the item's own bytes as its raw payload, in the contact's conversation
// (their number in the wa_id form, the conversation of their chats and of
// their history thread), naming them as the business saved them. History
// threads and the app's message echoes carry no names: this is where a
// reviewer reading such a thread finds who it is with, and where a search
// for the name finds the number.
func (p *parser) stateSync(sc *scope, value json.RawMessage) {
	p.system(sc, value)
	delivery := p.events[len(p.events)-1].ProviderID
	var v stateSyncValue
	if err := json.Unmarshal(value, &v); err != nil {
		return // not the documented shape: the delivery's record keeps it
	}
	sc.phoneNumberID = v.Metadata.PhoneNumberID.String()
	sc.business = onrecord.Party{ID: firstNonEmpty(normPhone(v.Metadata.DisplayPhoneNumber.String()), sc.phoneNumberID, "business")}
	for _, raw := range v.StateSync {
		p.stateSyncItem(sc, raw, delivery)
	}
}

// stateSyncItem maps one item of a state sync; an item that is not a
// contact change, or not readable, is still recorded, with its bytes.
func (p *parser) stateSyncItem(sc *scope, raw json.RawMessage, delivery string) {
	ev := connector.Event{}
	e := &ev.Event
	ev.Raw = raw
	e.Kind = onrecord.KindSystem
	e.Direction = onrecord.Inbound
	e.ProviderID = fmt.Sprintf("%s:%s:%s", firstNonEmpty(sc.entryID, "unknown"), fieldStateSync, shortHash(raw))
	e.Sender = sc.business
	e.Conversation = "waba:" + firstNonEmpty(sc.entryID, "unknown")
	meta := map[string]string{"field": fieldStateSync, "state_sync_delivery": delivery}
	setIf(meta, "waba_id", sc.entryID)
	setIf(meta, "phone_number_id", sc.phoneNumberID)
	e.Meta = meta

	var it stateSyncItem
	err := json.Unmarshal(raw, &it)
	switch {
	case err != nil:
		e.Subtype = "business_app_state"
		meta["unsupported_reason"] = truncate("state_sync item: "+err.Error(), 300)
		e.Body = "WhatsApp Business app state: an item that could not be read"
	case it.Type != "contact":
		e.Subtype = "business_app_state"
		setIf(meta, "type", truncate(it.Type, 80))
		setIf(meta, "action", truncate(it.Action, 80))
		e.Body = "WhatsApp Business app state: " + firstNonEmpty(truncate(it.Type, 80), "an item without a type")
	default:
		e.Subtype = subtypeAppContact
		contact := onrecord.Party{ID: normPhone(it.Contact.PhoneNumber.String()), Name: it.Contact.FullName}
		setIf(meta, "action", truncate(it.Action, 80))
		setIf(meta, "contact_full_name", it.Contact.FullName)
		setIf(meta, "contact_first_name", it.Contact.FirstName)
		setIf(meta, "contact_phone_number", it.Contact.PhoneNumber.String())
		if contact.ID != "" {
			e.Conversation = contact.ID
			e.Recipients = []onrecord.Party{contact}
		}
		switch it.Action {
		case "add":
			e.Body = "Saved in the WhatsApp Business app's contacts as " + firstNonEmpty(it.Contact.FullName, it.Contact.FirstName, "(no name)")
		case "remove":
			e.Body = "Removed from the WhatsApp Business app's contacts"
		default:
			e.Body = "WhatsApp Business app contact: " + firstNonEmpty(truncate(it.Action, 80), "no action")
		}
	}
	e.SentAt = p.timeOf(it.Metadata.Timestamp, sc, meta)
	p.add(ev)
}
