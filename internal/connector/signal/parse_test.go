package signal

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// want is the part of an event a fixture pins down. Every field is
// compared (empty means must be empty) except Meta, which is a subset.
type want struct {
	kind                                 onrecord.EventKind
	id, conv, sender, senderName         string
	dir                                  onrecord.Direction
	target, replyTo, body, emoji, status string
	subtype, groupName                   string
	group                                bool
	expires                              int
	sentAt                               int64
	media                                string
	recipients                           string
	meta                                 map[string]string
}

func TestParse_Fixtures(t *testing.T) {
	const m, me = marcus, testAccount
	tests := []struct {
		file       string
		keepTyping bool
		want       []want
	}{
		{file: "manpage_receive.json", want: []want{{kind: onrecord.KindMessage, id: "uuid:1631458508784", conv: "uuid", sender: "uuid",
			senderName: "name", dir: onrecord.Inbound, body: "foobar", subtype: "text", sentAt: 1631458508784, recipients: me}}},
		{file: "data_text.json", want: []want{{kind: onrecord.KindMessage, id: m + ":1772460000123", conv: m, sender: m,
			senderName: "Marcus Chen", dir: onrecord.Inbound, body: "Hi Dana, can we move the call to Thursday?", subtype: "text",
			sentAt: 1772460000123, recipients: me, meta: map[string]string{"source_number": "+15550111"}}}},
		{file: "group_mention.json", want: []want{{kind: onrecord.KindMessage, id: elena + ":1772460100000", conv: chenGroup, sender: elena,
			senderName: "Elena Petrova", dir: onrecord.Inbound, body: "@+15550100 can you send Elena the trust deed?", subtype: "text",
			group: true, groupName: "Chen Family Office", sentAt: 1772460100000,
			meta: map[string]string{
				"mentions":    `[{"name":"+15550100","number":"+15550100","uuid":"5f3c9a1e-2b7d-4c8e-9f10-6a2b3c4d5e01","start":0,"length":1}]`,
				"text_styles": `[{"style":"BOLD","start":14,"length":5}]`}}}},
		{file: "attachments_quote.json", want: []want{{kind: onrecord.KindMessage, id: m + ":1772460200000", conv: m, sender: m,
			senderName: "Marcus Chen", dir: onrecord.Inbound, body: "Statement attached", subtype: "file", sentAt: 1772460200000,
			replyTo: me + ":1772459000000", recipients: me,
			media: "Fz3hQk2LqR9sX1vB7cYd.pdf|Statement Feb 2026.pdf|application/pdf,aB9cD8eF7gH6iJ5kL4mN.jpg|aB9cD8eF7gH6iJ5kL4mN.jpg|image/jpeg",
			meta:  map[string]string{"quote_text": "Could you send the February statement?"}}}},
		{file: "disappearing.json", want: []want{{kind: onrecord.KindMessage, id: m + ":1772460300000", conv: m, sender: m,
			senderName: "Marcus Chen", dir: onrecord.Inbound, body: "My new address: 12 Harbour Row", subtype: "text", expires: 604800,
			sentAt: 1772460300000, recipients: me}}},
		{file: "expiration_update.json", want: []want{{kind: onrecord.KindSystem, id: m + ":1772460310000", conv: m, sender: m,
			senderName: "Marcus Chen", dir: onrecord.Inbound, subtype: "expiration_update", expires: 86400, sentAt: 1772460310000,
			recipients: me, meta: map[string]string{"expires_in_seconds": "86400"}}}},
		{file: "edit.json", want: []want{{kind: onrecord.KindEdit, id: m + ":1772460400000", conv: m, sender: m, senderName: "Marcus Chen",
			dir: onrecord.Inbound, target: m + ":1772460000123", body: "Hi Dana, can we move the call to Friday?", subtype: "text",
			sentAt: 1772460400000, recipients: me}}},
		{file: "remote_delete.json", want: []want{{kind: onrecord.KindDelete, id: m + ":1772460500000", conv: m, sender: m,
			senderName: "Marcus Chen", dir: onrecord.Inbound, target: m + ":1772460000123", subtype: "remote_delete",
			sentAt: 1772460500000, recipients: me}}},
		{file: "reaction.json", want: []want{{kind: onrecord.KindReaction, id: m + ":1772460600000", conv: m, sender: m,
			senderName: "Marcus Chen", dir: onrecord.Inbound, target: me + ":1772459000000", emoji: "👍", subtype: "reaction",
			sentAt: 1772460600000, recipients: me}}},
		{file: "reaction_remove.json", want: []want{{kind: onrecord.KindReaction, id: m + ":1772460610000", conv: m, sender: m,
			senderName: "Marcus Chen", dir: onrecord.Inbound, target: me + ":1772459000000", subtype: "reaction",
			sentAt: 1772460610000, recipients: me, meta: map[string]string{"removed": "true", "removed_emoji": "👍"}}}},
		{file: "sync_sent.json", want: []want{{kind: onrecord.KindMessage, id: me + ":1772460700000", conv: m, sender: me,
			senderName: "Dana Whitfield", dir: onrecord.Outbound, body: "Thursday at 10:00 works.", subtype: "text",
			replyTo: m + ":1772460000123", sentAt: 1772460700000, recipients: m,
			meta: map[string]string{"quote_text": "Hi Dana, can we move the call to Thursday?"}}}},
		{file: "sync_sent_group.json", want: []want{{kind: onrecord.KindMessage, id: me + ":1772460710000", conv: chenGroup, sender: me,
			senderName: "Dana Whitfield", dir: onrecord.Outbound, body: "Yes, 3pm at Boylston Street.", subtype: "text", group: true,
			groupName: "Chen Family Office", sentAt: 1772460710000}}},
		{file: "sync_sent_edit.json", want: []want{{kind: onrecord.KindEdit, id: me + ":1772460720000", conv: m, sender: me,
			senderName: "Dana Whitfield", dir: onrecord.Outbound, target: me + ":1772460700000", body: "Thursday at 11:00 works.",
			subtype: "text", sentAt: 1772460720000, recipients: m}}},
		{file: "sync_sent_delete.json", want: []want{{kind: onrecord.KindDelete, id: me + ":1772460730000", conv: m, sender: me,
			senderName: "Dana Whitfield", dir: onrecord.Outbound, target: me + ":1772460700000", subtype: "remote_delete",
			sentAt: 1772460730000, recipients: m}}},
		{file: "sync_sent_reaction.json", want: []want{{kind: onrecord.KindReaction, id: me + ":1772460740000", conv: m, sender: me,
			senderName: "Dana Whitfield", dir: onrecord.Outbound, target: m + ":1772460000123", emoji: "❤️", subtype: "reaction",
			sentAt: 1772460740000, recipients: m}}},
		{file: "sync_read.json", want: []want{
			{kind: onrecord.KindStatus, id: m + ":1772460000123:read:" + me, conv: m, sender: me, senderName: "Dana Whitfield",
				dir: onrecord.Outbound, target: m + ":1772460000123", status: "read", subtype: "read_sync", sentAt: 1772460750000},
			{kind: onrecord.KindStatus, id: elena + ":1772460100000:read:" + me, conv: elena, sender: me, senderName: "Dana Whitfield",
				dir: onrecord.Outbound, target: elena + ":1772460100000", status: "read", subtype: "read_sync", sentAt: 1772460750000},
		}},
		{file: "receipt_delivery.json", want: []want{
			{kind: onrecord.KindStatus, id: me + ":1772460700000:delivered:" + m, conv: m, sender: m, senderName: "Marcus Chen",
				dir: onrecord.Inbound, target: me + ":1772460700000", status: "delivered", subtype: "receipt", sentAt: 1772460800000, recipients: me},
			{kind: onrecord.KindStatus, id: me + ":1772460710000:delivered:" + m, conv: m, sender: m, senderName: "Marcus Chen",
				dir: onrecord.Inbound, target: me + ":1772460710000", status: "delivered", subtype: "receipt", sentAt: 1772460800000, recipients: me},
		}},
		{file: "receipt_read.json", want: []want{{kind: onrecord.KindStatus, id: me + ":1772460700000:read:" + m, conv: m, sender: m,
			senderName: "Marcus Chen", dir: onrecord.Inbound, target: me + ":1772460700000", status: "read", subtype: "receipt",
			sentAt: 1772460810000, recipients: me}}},
		{file: "typing.json", want: nil},
		{file: "typing.json", keepTyping: true, want: []want{{kind: onrecord.KindStatus, id: m + ":1772460820000:typing_started",
			conv: chenGroup, sender: m, senderName: "Marcus Chen", dir: onrecord.Inbound, target: chenGroup, status: "typing_started",
			subtype: "typing", group: true, sentAt: 1772460820000}}},
		{file: "call_offer.json", want: []want{{kind: onrecord.KindSystem, id: m + ":1772460830000", conv: m, sender: m,
			senderName: "Marcus Chen", dir: onrecord.Inbound, subtype: "call_offer", sentAt: 1772460830000, recipients: me,
			meta: map[string]string{"call_id": "12737282916405785473", "call_type": "AUDIO_CALL"}}}},
		{file: "story.json", want: []want{{kind: onrecord.KindSystem, id: m + ":1772460840000", conv: m, sender: m,
			senderName: "Marcus Chen", dir: onrecord.Inbound, subtype: "story", body: "Proud to support the Harbor Marathon!",
			sentAt: 1772460840000, recipients: me, meta: map[string]string{"allows_replies": "true"}}}},
		{file: "decryption_failure.json", want: []want{{kind: onrecord.KindSystem,
			id: "9f1b3d5e-7a9c-4b2d-8f4a-7b9c1d3e5f66:1772460850000:decryption_failed", conv: "9f1b3d5e-7a9c-4b2d-8f4a-7b9c1d3e5f66",
			sender: "9f1b3d5e-7a9c-4b2d-8f4a-7b9c1d3e5f66", senderName: "Henry Liu", dir: onrecord.Inbound, subtype: "decryption_failed",
			sentAt: 1772460850000, meta: map[string]string{"exception_type": "ProtocolInvalidMessageException", "source_device": "3"}}}},
		{file: "subscription.json", want: []want{{kind: onrecord.KindMessage, id: m + ":1772460860000", conv: m, sender: m,
			senderName: "Marcus Chen", dir: onrecord.Inbound, body: "Running 10 minutes late, sorry!", subtype: "text",
			sentAt: 1772460860000, recipients: me}}},
		{file: "batch_rest_receive.json", want: []want{
			{kind: onrecord.KindMessage, id: m + ":1772460870000", conv: m, sender: m, senderName: "Marcus Chen", dir: onrecord.Inbound,
				body: "First", subtype: "text", sentAt: 1772460870000, recipients: me},
			{kind: onrecord.KindMessage, id: m + ":1772460871000", conv: m, sender: m, senderName: "Marcus Chen", dir: onrecord.Inbound,
				body: "Second", subtype: "text", sentAt: 1772460871000, recipients: me},
		}},
		{file: "unknown_envelope.json", want: []want{{kind: onrecord.KindSystem, id: m + ":1772460880000:unsupported", conv: m, sender: m,
			senderName: "Marcus Chen", dir: onrecord.Inbound, subtype: "unsupported", sentAt: 1772460880000, recipients: me,
			meta: map[string]string{"envelope_keys": "hologramMessage,serverDeliveredTimestamp,serverReceivedTimestamp,source,sourceDevice,sourceName,sourceNumber,sourceUuid,timestamp"}}}},
		{file: "poll_create.json", want: []want{{kind: onrecord.KindMessage, id: "c7e1a9d3-5b2f-4e6c-8a0d-3f5b7c9e1d22:1772460890000",
			conv: chenGroup, sender: "c7e1a9d3-5b2f-4e6c-8a0d-3f5b7c9e1d22", senderName: "Priya Raman", dir: onrecord.Inbound,
			body: "📊 Which date suits the trust review?\n• Tue 14 April\n• Thu 16 April", subtype: "poll", group: true,
			groupName: "Chen Family Office", sentAt: 1772460890000,
			meta: map[string]string{"poll_create": `{"question":"Which date suits the trust review?","allowMultiple":false,"options":["Tue 14 April","Thu 16 April"]}`}}}},
		{file: "contact.json", want: []want{{kind: onrecord.KindMessage, id: m + ":1772460900000", conv: m, sender: m,
			senderName: "Marcus Chen", dir: onrecord.Inbound, subtype: "contacts", sentAt: 1772460900000, recipients: me,
			meta: map[string]string{"contacts": `[{"name":{"nickname":null,"given":"Laura","family":"Chen","prefix":null,"suffix":null,"middle":null},"avatar":null,"phone":[{"value":"+15550199","type":"MOBILE","label":null}],"organization":"Chen Family Office"}]`}}}},
		{file: "view_once.json", want: []want{{kind: onrecord.KindMessage, id: m + ":1772460910000", conv: m, sender: m,
			senderName: "Marcus Chen", dir: onrecord.Inbound, subtype: "image", sentAt: 1772460910000, recipients: me,
			media: "vO1cE2pH3oT4o5jP6g7h.jpg|vO1cE2pH3oT4o5jP6g7h.jpg|image/jpeg", meta: map[string]string{"view_once": "true"}}}},
	}
	for _, tt := range tests {
		name := strings.TrimSuffix(tt.file, ".json")
		if tt.keepTyping {
			name += "_keep_typing"
		}
		t.Run(name, func(t *testing.T) {
			c := mustNew(t, connector.Config{KeepTyping: tt.keepTyping})
			evs, err := c.Parse(streamReq(fixture(t, tt.file)))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if evs == nil {
				t.Fatal("Parse returned a nil slice; want a (possibly empty) slice")
			}
			checkValid(t, evs)
			if len(evs) != len(tt.want) {
				t.Fatalf("got %d events, want %d: %+v", len(evs), len(tt.want), evs)
			}
			for i, w := range tt.want {
				compare(t, i, evs[i], w)
			}
		})
	}
}

func compare(t *testing.T, i int, ev connector.Event, w want) {
	t.Helper()
	var rc []string
	for _, r := range ev.Recipients {
		rc = append(rc, r.ID)
	}
	got := want{
		kind: ev.Kind, id: ev.ProviderID, conv: ev.Conversation, sender: ev.Sender.ID, senderName: ev.Sender.Name, dir: ev.Direction,
		target: ev.Target, replyTo: ev.ReplyTo, body: ev.Body, emoji: ev.Emoji, status: ev.Status, subtype: ev.Subtype,
		groupName: ev.GroupName, group: ev.Group, expires: ev.ExpiresInSeconds, sentAt: ev.SentAt.UnixMilli(),
		media: refs(ev.Media), recipients: strings.Join(rc, ","),
	}
	meta := w.meta
	w.meta = nil
	if !reflect.DeepEqual(got, w) {
		t.Errorf("event %d:\n got %+v\nwant %+v", i, got, w)
	}
	if ev.SentAt.Location() != time.UTC {
		t.Errorf("event %d: SentAt not UTC", i)
	}
	for k, v := range meta {
		if ev.Meta[k] != v {
			t.Errorf("event %d: Meta[%q] = %q, want %q", i, k, ev.Meta[k], v)
		}
	}
}

func TestParse_BodyFormsYieldTheSameEvents(t *testing.T) {
	c := mustNew(t, connector.Config{})
	payload := bytes.TrimSpace(fixture(t, "data_text.json"))
	forms := map[string][]byte{
		"payload":      payload,
		"notification": []byte(`{"jsonrpc":"2.0","method":"receive","params":` + string(payload) + `}`),
		"subscription": []byte(`{"jsonrpc":"2.0","method":"receive","params":{"subscription":3,"result":` + string(payload) + `}}`),
		"rpc_response": []byte(`{"jsonrpc":"2.0","result":[` + string(payload) + `],"id":7}`),
		"array":        []byte(`[` + string(payload) + `]`),
	}
	base, err := c.Parse(streamReq(payload))
	if err != nil || len(base) != 1 {
		t.Fatalf("Parse payload: %v %v", base, err)
	}
	for name, body := range forms {
		evs, err := c.Parse(streamReq(body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(evs) != 1 || evs[0].ProviderID != base[0].ProviderID || evs[0].Body != base[0].Body {
			t.Errorf("%s: got %+v", name, evs)
		}
	}
}

func TestParse_UnreadableDeliveriesAreErrors(t *testing.T) {
	c := mustNew(t, connector.Config{})
	for name, body := range map[string]string{
		"empty":            "",
		"not json":         "hello",
		"string":           `"receive"`,
		"no envelope":      `{"account":"+15550100"}`,
		"rpc error":        `{"jsonrpc":"2.0","error":{"code":-32600,"message":"x"},"id":null}`,
		"receive no param": `{"jsonrpc":"2.0","method":"receive"}`,
		"envelope no src":  `{"envelope":{"timestamp":1772460000000,"dataMessage":{"timestamp":1772460000000,"message":"x"}}}`,
		"no timestamp":     `{"envelope":{"sourceUuid":"u","dataMessage":{"message":"x"}}}`,
		"huge timestamp":   `{"envelope":{"sourceUuid":"u","timestamp":99999999999999999,"dataMessage":{"message":"x"}}}`,
		"bad field type":   `{"envelope":{"sourceUuid":"u","timestamp":"yesterday"}}`,
		"nested too deep":  `{"jsonrpc":"2.0","method":"receive","params":{"jsonrpc":"2.0","method":"receive","params":{"jsonrpc":"2.0","method":"receive","params":{"jsonrpc":"2.0","method":"receive","params":{"jsonrpc":"2.0","method":"receive","params":{}}}}}}`,
	} {
		if evs, err := c.Parse(streamReq([]byte(body))); err == nil {
			t.Errorf("%s: Parse = %+v, want an error", name, evs)
		}
	}
	if _, err := c.Parse(nil); err == nil {
		t.Error("Parse(nil) did not fail")
	}
}

func TestParse_UnknownNotificationIsASystemEvent(t *testing.T) {
	c := mustNew(t, connector.Config{})
	evs, err := c.Parse(streamReq([]byte(`{"jsonrpc":"2.0","method":"receiveStory","params":{"x":1}}`)))
	if err != nil || len(evs) != 1 {
		t.Fatalf("Parse: %v %v", evs, err)
	}
	checkValid(t, evs)
	if evs[0].Kind != onrecord.KindSystem || evs[0].Subtype != "unsupported" || evs[0].Meta["rpc_method"] != "receiveStory" {
		t.Errorf("got %+v", evs[0])
	}
}

func TestParse_OwnUUIDFromSyncLinksToAccount(t *testing.T) {
	// A reaction by the employee (from the phone) to the employee's own
	// message names the target by the account's uuid; it must link to
	// "<account>:<ts>" like every other reference to our messages.
	c := mustNew(t, connector.Config{})
	body := `{"envelope":{"source":"+15550100","sourceNumber":"+15550100","sourceUuid":"` + testSelf + `","sourceName":"Dana Whitfield","sourceDevice":1,"timestamp":1772461000000,"syncMessage":{"sentMessage":{"destination":"+15550111","destinationNumber":"+15550111","destinationUuid":"` + marcus + `","timestamp":1772461000000,"message":null,"expiresInSeconds":0,"isExpirationUpdate":false,"viewOnce":false,"reaction":{"emoji":"👍","targetAuthor":"` + testSelf + `","targetAuthorNumber":null,"targetAuthorUuid":"` + testSelf + `","targetSentTimestamp":1772460700000,"isRemove":false}}}},"account":"+15550100"}`
	evs, err := c.Parse(streamReq([]byte(body)))
	if err != nil || len(evs) != 1 {
		t.Fatalf("Parse: %v %v", evs, err)
	}
	if evs[0].Target != testAccount+":1772460700000" {
		t.Errorf("Target = %q", evs[0].Target)
	}
}

func TestParse_TypingOnlyDeliveryIsEmptyNotError(t *testing.T) {
	c := mustNew(t, connector.Config{})
	evs, err := c.Parse(streamReq(fixture(t, "typing.json")))
	if err != nil || evs == nil || len(evs) != 0 {
		t.Fatalf("Parse = %v, %v; want an empty slice and no error", evs, err)
	}
}

func TestParse_IsDeterministic(t *testing.T) {
	c := mustNew(t, connector.Config{KeepTyping: true})
	for _, f := range []string{"group_mention.json", "attachments_quote.json", "sync_read.json", "receipt_delivery.json"} {
		a, _ := c.Parse(streamReq(fixture(t, f)))
		b, _ := c.Parse(streamReq(fixture(t, f)))
		for i := range a {
			if a[i].ProviderID != b[i].ProviderID || a[i].Body != b[i].Body || len(a[i].Meta) != len(b[i].Meta) {
				t.Errorf("%s: event %d differs between parses", f, i)
			}
		}
	}
}

func BenchmarkParse(b *testing.B) {
	c := mustNew(b, connector.Config{})
	body := fixture(b, "attachments_quote.json")
	req := streamReq(body)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := c.Parse(req); err != nil {
			b.Fatal(err)
		}
	}
}
