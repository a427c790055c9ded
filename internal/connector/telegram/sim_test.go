package telegram

import (
	"bytes"
	"net/http"
	"slices"
	"testing"

	"github.com/onrecord/onrecord/internal/connector"
	"github.com/onrecord/onrecord/internal/sim"
	telegramsim "github.com/onrecord/onrecord/internal/sim/telegram"
)

func deliveryRequest(d sim.Delivery) *connector.Request {
	return &connector.Request{Method: d.Method, Header: d.Header.Clone(), Body: d.Body, ReceivedAt: received}
}

func TestSimDeliveries_CoverEveryKindAndParse(t *testing.T) {
	s := telegramsim.New(telegramsim.Options{BotToken: testToken, SecretToken: testSecret})
	c := mustNew(t)
	kinds := map[string]bool{}
	seen := map[string]bool{}
	for _, d := range s.Deliveries("https://archive.example/hooks/tg") {
		kinds[d.Kind] = true
		if d.Method != http.MethodPost || d.URL != "https://archive.example/hooks/tg" {
			t.Errorf("%s: %s %s", d.Kind, d.Method, d.URL)
		}
		req := deliveryRequest(d)
		if err := c.Authenticate(req); err != nil {
			t.Fatalf("%s: Authenticate: %v", d.Kind, err)
		}
		evs, err := c.Parse(req)
		if err != nil {
			t.Fatalf("%s: Parse: %v", d.Kind, err)
		}
		if len(evs) == 0 {
			t.Errorf("%s: no events", d.Kind)
		}
		for _, ev := range evs {
			e := ev.Event
			e.Channel = "tg"
			if err := e.Validate(); err != nil {
				t.Errorf("%s: %v", d.Kind, err)
			}
			key := e.IdempotencyKey()
			if seen[key] {
				t.Errorf("%s: duplicate %s %s", d.Kind, e.Kind, e.ProviderID)
			}
			seen[key] = true
		}
		if bytes.Contains(d.Body, []byte(`\u00`)) {
			t.Errorf("%s: body escapes non-ASCII; Telegram sends UTF-8", d.Kind)
		}
	}
	for _, k := range []string{"text", "photo", "video", "voice", "audio", "document", "animation", "sticker", "video_note",
		"location", "venue", "contact", "poll", "dice", "forwarded", "reply", "topic_message", "new_chat_members", "left_chat_member",
		"new_chat_title", "pinned_message", "edited_message", "channel_post", "edited_channel_post", "message_reaction",
		"message_reaction_count", "business_connection", "business_message_inbound", "business_message_outbound",
		"edited_business_message", "deleted_business_messages", "callback_query", "unknown_update", "unsupported_content"} {
		if !kinds[k] {
			t.Errorf("Deliveries has no %q", k)
		}
	}
	// A delivery with the wrong secret is refused.
	d := s.Deliveries("https://archive.example/hooks/tg")[0]
	d.Header.Set(SecretTokenHeader, "forged")
	if err := c.Authenticate(deliveryRequest(d)); err == nil {
		t.Error("forged secret accepted")
	}
}

func TestSimWorkload_ParsesWithoutDuplicates(t *testing.T) {
	s := telegramsim.New(telegramsim.Options{BotToken: testToken, SecretToken: testSecret})
	c := mustNew(t)
	ds := s.Workload("https://archive.example/hooks/tg", 7, 1000)
	if len(ds) != 1000 {
		t.Fatalf("%d deliveries", len(ds))
	}
	seen := map[string]bool{}
	kinds := map[string]int{}
	targets := map[string]bool{}
	var links []string
	for _, d := range ds {
		kinds[d.Kind]++
		req := deliveryRequest(d)
		if err := c.Authenticate(req); err != nil {
			t.Fatalf("%s: %v", d.Kind, err)
		}
		evs, err := c.Parse(req)
		if err != nil {
			t.Fatalf("%s: %v\n%s", d.Kind, err, d.Body)
		}
		if len(evs) == 0 {
			t.Fatalf("%s: no events", d.Kind)
		}
		for _, ev := range evs {
			e := ev.Event
			e.Channel = "tg"
			if err := e.Validate(); err != nil {
				t.Fatalf("%s: %v", d.Kind, err)
			}
			if seen[e.IdempotencyKey()] {
				t.Fatalf("%s: duplicate %s %s", d.Kind, e.Kind, e.ProviderID)
			}
			seen[e.IdempotencyKey()] = true
			if e.Kind == "message" {
				targets[e.ProviderID] = true
			}
			if e.Kind == "edit" || e.Kind == "delete" || e.Kind == "reaction" {
				links = append(links, e.Target)
			}
		}
	}
	for _, want := range []string{"text", "text_group", "business_message_inbound", "business_message_outbound", "edited_message",
		"message_reaction", "deleted_business_messages", "edited_business_message", "channel_post"} {
		if kinds[want] == 0 {
			t.Errorf("workload has no %q: %v", want, kinds)
		}
	}
	// Edits, deletes and reactions refer to messages of the workload.
	for _, l := range links {
		if !targets[l] {
			t.Errorf("target %q is not a message of the workload", l)
		}
	}
}

func TestSimWorkload_DeterministicAndSeedsDisjoint(t *testing.T) {
	s := telegramsim.New(telegramsim.Options{BotToken: testToken, SecretToken: testSecret})
	a, b := s.Workload("h", 3, 200), s.Workload("h", 3, 200)
	if !slices.EqualFunc(a, b, func(x, y sim.Delivery) bool { return bytes.Equal(x.Body, y.Body) && x.Kind == y.Kind }) {
		t.Fatal("same seed, different workload")
	}
	c := mustNew(t)
	ids := map[string]bool{}
	for _, seed := range []int64{-1, 3, 4} {
		ds := s.Deliveries("h") // seed -1 stands for the scripted deliveries
		if seed >= 0 {
			ds = s.Workload("h", seed, 200)
		}
		for _, d := range ds {
			evs, err := c.Parse(deliveryRequest(d))
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				k := ev.IdempotencyKey()
				if ids[k] {
					t.Fatalf("seed %d repeats %s", seed, k)
				}
				ids[k] = true
			}
		}
	}
}
