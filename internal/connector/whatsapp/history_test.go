package whatsapp

import (
	"bytes"
	"strings"
	"testing"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// historyCases are coexistence "history" webhooks, written from Meta's
// history webhook reference: the chunk itself, then one record per message
// with the message's own bytes as raw payload.
var historyCases = []struct {
	file string
	want []want
	// items are the provider ids of the events that are history items
	// (raw = their own bytes, backfill); the others keep the whole body.
	items []string
}{
	{"history.json", []want{
		{Kind: onrecord.KindSystem, ProviderID: "102290129340398:history:", Conversation: "waba:102290129340398",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "meta", Name: "Meta"}, Recipients: toBiz, SentAt: received.Unix(),
			Subtype: "history", Body: "WhatsApp Business app chat history: phase 1, chunk 2, progress 55%: 4 messages in 2 threads",
			Meta: map[string]string{"field": "history", "history_phase": "1", "history_chunk_order": "2", "history_progress": "55",
				"threads": "2", "messages": "4", "phone_number_id": "106540352242922", "history": ""}},
		with(inbound(onrecord.KindMessage, "wamid.hist-in-1", onrecord.Party{ID: "14155550123"}, 1767225600, "text"), func(w *want) {
			w.Body = "Can you move the bond proceeds into the growth fund before Friday?"
			w.Meta = map[string]string{"history": "true", "history_status": "READ", "history_phase": "1", "history_chunk_order": "2",
				"history_progress": "55", "echo": ""}
		}),
		{Kind: onrecord.KindMessage, ProviderID: "wamid.hist-out-1", Conversation: "14155550123", Direction: onrecord.Outbound,
			Sender: biz, Recipients: []onrecord.Party{{ID: "14155550123"}}, SentAt: 1767226020, Subtype: "text",
			Body: "Yes, I will place the order this afternoon.", Meta: map[string]string{"history_status": "DELIVERED"}},
		with(inbound(onrecord.KindReaction, "wamid.hist-react-1", onrecord.Party{ID: "14155550123"}, 1767226080, "reaction"), func(w *want) {
			w.Target, w.Emoji = "wamid.hist-out-1", "👍"
		}),
		// No media asset id yet: Meta sends it in a later history webhook.
		with(inbound(onrecord.KindMessage, "wamid.hist-img-1", tomas0, 1767312000, "image"), func(w *want) {
			w.Body = "Signed mandate"
			w.Meta = map[string]string{"media_missing": "true", "mime_type": "image/jpeg"}
		}),
	}, []string{"wamid.hist-in-1", "wamid.hist-out-1", "wamid.hist-react-1", "wamid.hist-img-1"}},
	{"history_media.json", []want{
		{Kind: onrecord.KindSystem, ProviderID: "102290129340398:history:", Conversation: "waba:102290129340398",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "meta", Name: "Meta"}, Recipients: toBiz, SentAt: received.Unix(),
			Subtype: "history", Body: "WhatsApp Business app chat history: phase 0, chunk 1, progress 100%: 1 messages in 1 threads"},
		// The media of the message above: linked to it, not a second copy.
		{Kind: onrecord.KindSystem, ProviderID: "wamid.hist-img-1:media", Conversation: "34615550147", Direction: onrecord.Inbound,
			Sender: tomas0, Recipients: toBiz, SentAt: 1767312000, Subtype: "history_media", Target: "wamid.hist-img-1",
			Body: "Signed mandate", Media: []connector.MediaRef{{Ref: "1479537139650973", Name: "image-1479537139650973.jpg", ContentType: "image/jpeg"}},
			Meta: map[string]string{"wa_type": "image", "media_id": "1479537139650973", "media_missing": "", "history": "true"}},
	}, []string{"wamid.hist-img-1:media"}},
	{"history_declined.json", []want{
		{Kind: onrecord.KindSystem, ProviderID: "102290129340398:history:", Conversation: "waba:102290129340398",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "meta", Name: "Meta"}, Recipients: toBiz, SentAt: 1767398400,
			Subtype: "history", Body: "WhatsApp Business app chat history: phase ?, chunk ?, progress ?%: 0 messages in 0 threads, 1 errors",
			Meta: map[string]string{"errors": "1"}},
		{Kind: onrecord.KindSystem, ProviderID: "102290129340398:history:error:0:", Conversation: "waba:102290129340398",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "meta", Name: "Meta"}, Recipients: toBiz, SentAt: 1767398400, Subtype: "error",
			Body:        "2593109 History sync is turned off by the business from the WhatsApp Business App",
			StatusError: "2593109 History sync is turned off by the business from the WhatsApp Business App",
			Meta:        map[string]string{"error_code": "2593109"}},
	}, nil},
}

// tomas0 is Tomás without the profile name a live webhook's contacts
// give: history webhooks carry none.
var tomas0 = onrecord.Party{ID: tomas.ID}

func TestParse_HistoryOneRecordPerMessage(t *testing.T) {
	c := mustConnector(t)
	for _, tc := range historyCases {
		t.Run(strings.TrimSuffix(tc.file, ".json"), func(t *testing.T) {
			body := readFixture(t, tc.file)
			evs := parseFixture(t, c, body)
			if len(evs) != len(tc.want) {
				t.Fatalf("got %d events, want %d: %+v", len(evs), len(tc.want), evs)
			}
			chunk := evs[0].ProviderID
			items := map[string]bool{}
			for _, id := range tc.items {
				items[id] = true
			}
			for i, w := range tc.want {
				ev := evs[i]
				if items[ev.ProviderID] {
					// The item's own bytes, exactly as they stand in the
					// signed body, and where they came from.
					if len(ev.Raw) == 0 || ev.Raw[0] != '{' || !bytes.Contains(body, ev.Raw) {
						t.Errorf("event %d: Raw %q is not an item of the body", i, ev.Raw)
					}
					if !bytes.Contains(ev.Raw, []byte(strings.TrimSuffix(ev.ProviderID, ":media"))) {
						t.Errorf("event %d: Raw %q is not the item of %s", i, ev.Raw, ev.ProviderID)
					}
					if !ev.Backfill || ev.Meta["history_chunk"] != chunk {
						t.Errorf("event %d: Backfill %v, history_chunk %q, want true and %q", i, ev.Backfill, ev.Meta["history_chunk"], chunk)
					}
				} else if ev.Raw != nil || ev.Backfill {
					t.Errorf("event %d (%s): keeps the whole delivery, not Raw %q / Backfill", i, ev.ProviderID, ev.Raw)
				}
				ev.Raw = nil
				checkEvent(t, i, ev, w)
			}
		})
	}
}

func TestParse_HistoryItemsThatAreNotObjectsAreKept(t *testing.T) {
	c := mustConnector(t)
	// After a message with a status, so that nothing of it carries over.
	body := bytes.Replace(readFixture(t, "history_media.json"), []byte(`"history_context":{"status":"READ"}}]`), []byte(`"history_context":{"status":"READ"}},42]`), 1)
	evs := parseFixture(t, c, body)
	if len(evs) != 3 {
		t.Fatalf("got %d events, want the chunk, the unreadable item and the media: %+v", len(evs), evs)
	}
	odd := evs[2]
	if odd.Subtype != "unsupported" || string(odd.Raw) != "42" || odd.Conversation != tomas.ID || odd.Meta["unsupported_reason"] == "" ||
		odd.Meta["history_status"] != "" {
		t.Errorf("unreadable item = %+v", odd)
	}
}

func TestParse_HistoryOfAnotherShapeIsKeptWhole(t *testing.T) {
	c := mustConnector(t)
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","time":1767398400,"changes":[{"field":"history","value":{"history":"soon"}}]}]}`)
	evs := parseFixture(t, c, body)
	if len(evs) != 1 || evs[0].Kind != onrecord.KindSystem || evs[0].Subtype != "history" || evs[0].Raw != nil || evs[0].Meta["value.history"] != "soon" {
		t.Fatalf("got %+v, want one system record of the whole value", evs)
	}
}
