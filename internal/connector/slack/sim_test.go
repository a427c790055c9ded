package slack

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
	"github.com/onrecord/onrecord/internal/sim"
	slacksim "github.com/onrecord/onrecord/internal/sim/slack"
)

// fileIDInURL finds the file id in a files-pri URL (/files-pri/T…-F…/name).
var fileIDInURL = regexp.MustCompile(`/files-pri/[A-Z0-9]+-(F[A-Z0-9]+)/`)

func newSim(t *testing.T) (*slacksim.Sim, *httptest.Server, *Connector) {
	t.Helper()
	s := slacksim.New(slacksim.Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	s.SetBaseURL(srv.URL)
	c, err := New(s.ChannelConfig("slack", "http://gateway.test/hooks"))
	if err != nil {
		t.Fatal(err)
	}
	return s, srv, c
}

func toRequest(d sim.Delivery) *connector.Request {
	u, _ := url.Parse(d.URL)
	return &connector.Request{Method: d.Method, URL: u, Header: d.Header, Body: d.Body, ReceivedAt: time.Now()}
}

func TestSim_DeliveriesAuthenticateAndParse(t *testing.T) {
	s, _, c := newSim(t)
	ds := s.Deliveries("http://gateway.test/hooks/slack")
	kinds := map[string]bool{}
	seen := map[string]string{}
	for _, d := range ds {
		kinds[d.Kind] = true
		req := toRequest(d)
		if resp, ok, err := c.Handshake(req); ok {
			if err != nil || resp.Status != http.StatusOK {
				t.Errorf("%s: handshake %v %v", d.Kind, resp, err)
			}
			continue
		}
		if err := c.Authenticate(req); err != nil {
			t.Fatalf("%s: %v", d.Kind, err)
		}
		evs, err := c.Parse(req)
		if err != nil || len(evs) == 0 {
			t.Fatalf("%s: Parse = %v, %v", d.Kind, evs, err)
		}
		for _, e := range evs {
			e.Channel = "slack"
			if err := e.Validate(); err != nil {
				t.Errorf("%s: %v", d.Kind, err)
			}
			key := e.IdempotencyKey()
			if prev, dup := seen[key]; dup && d.Kind != "retry" {
				t.Errorf("%s repeats %s's %s %s", d.Kind, prev, e.Kind, e.ProviderID)
			}
			seen[key] = d.Kind
		}
	}
	for _, k := range []string{"url_verification", "message_im", "message_channel", "message_group", "message_mpim", "thread_reply",
		"thread_broadcast", "message_changed", "message_deleted", "message_tombstone", "file_share", "message_with_files", "file_share_connect",
		"bot_message", "app_message", "me_message", "channel_join", "channel_topic", "reaction_added", "reaction_removed", "file_shared",
		"file_deleted", "member_joined_channel", "channel_created", "app_mention", "unknown_event", "app_rate_limited", "retry", "slash_command"} {
		if !kinds[k] {
			t.Errorf("Deliveries has no %q", k)
		}
	}
}

func TestSim_DeliveriesLinkEditsDeletesAndReactionsToEarlierMessages(t *testing.T) {
	s, _, c := newSim(t)
	ids := map[string]bool{}
	for _, d := range s.Deliveries("http://gateway.test/hooks/slack") {
		req := toRequest(d)
		if _, ok, _ := c.Handshake(req); ok {
			continue
		}
		evs, err := c.Parse(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Kind == onrecord.KindMessage {
				ids[e.ProviderID] = true
			}
			if e.Target != "" && (e.Kind == onrecord.KindEdit || e.Kind == onrecord.KindDelete || strings.HasPrefix(e.Target, "D") || strings.HasPrefix(e.Target, "C")) && !ids[e.Target] {
				t.Errorf("%s %s targets %s, which no earlier message has", d.Kind, e.ProviderID, e.Target)
			}
			if d.Kind == "app_message" && e.Direction != onrecord.Outbound {
				t.Errorf("the app's own message is %s", e.Direction)
			}
		}
	}
}

func TestSim_WorkloadParsesWithoutDuplicates(t *testing.T) {
	s, _, c := newSim(t)
	ds := s.Workload("http://gateway.test/hooks/slack", 7, 1000)
	if len(ds) != 1000 {
		t.Fatalf("got %d deliveries", len(ds))
	}
	seen := map[string]bool{}
	kinds := map[onrecord.EventKind]int{}
	var media int
	for i, d := range ds {
		req := toRequest(d)
		if err := c.Authenticate(req); err != nil {
			t.Fatalf("delivery %d (%s): %v", i, d.Kind, err)
		}
		evs, err := c.Parse(req)
		if err != nil || len(evs) == 0 {
			t.Fatalf("delivery %d (%s): %v", i, d.Kind, err)
		}
		for _, e := range evs {
			e.Channel = "slack"
			if err := e.Validate(); err != nil {
				t.Fatalf("delivery %d (%s): %v", i, d.Kind, err)
			}
			if seen[e.IdempotencyKey()] {
				t.Fatalf("delivery %d (%s): duplicate %s %s", i, d.Kind, e.Kind, e.ProviderID)
			}
			seen[e.IdempotencyKey()] = true
			kinds[e.Kind]++
			media += len(e.Media)
		}
	}
	for _, k := range []onrecord.EventKind{onrecord.KindMessage, onrecord.KindEdit, onrecord.KindDelete, onrecord.KindReaction, onrecord.KindSystem} {
		if kinds[k] == 0 {
			t.Errorf("workload has no %s events: %v", k, kinds)
		}
	}
	if media == 0 {
		t.Error("workload has no files")
	}
	// Deterministic for a seed: the bodies repeat exactly.
	again := slacksim.New(slacksim.Options{}).Workload("http://gateway.test/hooks/slack", 7, 50)
	for i := range again {
		// File URLs depend on where the sim is served; compare messages only.
		if !bytes.Contains(ds[i].Body, []byte("files-pri")) && !bytes.Equal(again[i].Body, ds[i].Body) {
			t.Fatalf("delivery %d differs between runs with the same seed", i)
		}
	}
}

func TestFetch_DownloadsFilesWithBotToken(t *testing.T) {
	s, srv, c := newSim(t)
	var refs []connector.MediaRef
	for _, d := range s.Deliveries("http://gateway.test/hooks/slack") {
		if d.Kind != "file_share" && d.Kind != "message_with_files" && d.Kind != "file_share_connect" {
			continue
		}
		evs, err := c.Parse(toRequest(d))
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, evs[0].Media...)
	}
	if len(refs) != 4 {
		t.Fatalf("got %d media refs, want 4", len(refs))
	}
	for _, m := range refs {
		body, ct, err := c.Fetch(t.Context(), srv.Client(), m)
		if err != nil {
			t.Fatalf("Fetch %s: %v", m.Ref, err)
		}
		data, _ := io.ReadAll(body)
		body.Close()
		id := m.Ref
		if match := fileIDInURL.FindStringSubmatch(m.Ref); match != nil {
			id = match[1]
		}
		if !bytes.Equal(data, slacksim.FileContent(id)) {
			t.Errorf("%s: content differs from the simulator's file %s", m.Ref, id)
		}
		if ct != m.ContentType && m.ContentType != "" {
			t.Errorf("%s: content type %q, want %q", m.Ref, ct, m.ContentType)
		}
		if m.Size != 0 && int64(len(data)) != m.Size {
			t.Errorf("%s: %d bytes, announced %d", m.Ref, len(data), m.Size)
		}
	}
}

func TestFetch_WrongTokenGetsSignInPageAndFails(t *testing.T) {
	s, srv, _ := newSim(t)
	cfg := s.ChannelConfig("slack", "")
	cfg.BotToken = "xoxb-revoked"
	c, _ := New(cfg)
	_, _, err := c.Fetch(t.Context(), srv.Client(), connector.MediaRef{Ref: srv.URL + "/files-pri/T0HTB00001-F0HTBIPS01/download/a.pdf", ContentType: "application/pdf"})
	if err == nil || !strings.Contains(err.Error(), "files:read") {
		t.Fatalf("err = %v, want the sign-in page recognised", err)
	}
}

func TestFetch_RefusesToSendTheTokenElsewhere(t *testing.T) {
	_, srv, c := newSim(t)
	var got string
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Get("Authorization") }))
	defer evil.Close()
	for _, ref := range []string{evil.URL + "/x.pdf", "https://files.slack.com.evil.example/x", "http://files.slack.com/x", "https://user@files.slack.com/x"} {
		if _, _, err := c.Fetch(t.Context(), srv.Client(), connector.MediaRef{Ref: ref}); err == nil {
			t.Errorf("Fetch(%s) allowed", ref)
		}
	}
	if got != "" {
		t.Error("token sent to a foreign host")
	}
	if !c.trustedHost(mustURL(t, "https://files.slack.com/files-pri/T1-F1/x.pdf")) {
		t.Error("files.slack.com not trusted")
	}
}

func TestSend_PostsMessageAndReturnsChannelTS(t *testing.T) {
	s, srv, c := newSim(t)
	id, err := c.Send(t.Context(), srv.Client(), connector.Outbound{To: "C0WEALTH01", Body: "Trade confirmed: 1,200 MSFT @ 412.10 <ok> & done"})
	if err != nil {
		t.Fatal(err)
	}
	sent := s.Sent()
	if len(sent) != 1 || sent[0].Channel != "C0WEALTH01" || sent[0].Text != "Trade confirmed: 1,200 MSFT @ 412.10 <ok> & done" {
		t.Fatalf("sent = %+v", sent)
	}
	if id != "C0WEALTH01:"+sent[0].TS {
		t.Errorf("provider id = %q, want channel:ts", id)
	}
	// To a user: Slack answers with the DM channel, which is what the
	// message's own event will carry.
	id, err = c.Send(t.Context(), srv.Client(), connector.Outbound{To: "U0WFO0JWBR", Body: "hello"})
	if err != nil || !strings.HasPrefix(id, "D0WFO0JWBR:") {
		t.Errorf("Send to user = %q, %v", id, err)
	}
}

func TestSend_Failures(t *testing.T) {
	s, srv, c := newSim(t)
	cfg := s.ChannelConfig("slack", "")
	cfg.BotToken = "xoxb-wrong"
	wrong, _ := New(cfg)
	tests := []struct {
		name string
		c    *Connector
		msg  connector.Outbound
		want string
	}{
		{"bad token", wrong, connector.Outbound{To: "C1", Body: "x"}, "invalid_auth"},
		{"unknown channel", c, connector.Outbound{To: "#general", Body: "x"}, "channel_not_found"},
		{"no recipient", c, connector.Outbound{Body: "x"}, "no channel"},
		{"empty", c, connector.Outbound{To: "C1"}, "empty"},
		{"attachments", c, connector.Outbound{To: "C1", Body: "x", Attachments: []onrecord.Attachment{{Name: "a.pdf"}}}, "attachments"},
	}
	for _, tt := range tests {
		_, err := tt.c.Send(t.Context(), srv.Client(), tt.msg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	if n := len(s.Sent()); n != 0 {
		t.Errorf("%d messages recorded by failed sends", n)
	}
	rl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer rl.Close()
	limited := mustNew(t, connector.Config{APIBaseURL: rl.URL})
	if _, err := limited.Send(t.Context(), rl.Client(), connector.Outbound{To: "C1", Body: "x"}); err == nil || !strings.Contains(err.Error(), "retry after 30s") {
		t.Errorf("rate limit: %v", err)
	}
}

func TestSim_StaleDeliveryIsRejected(t *testing.T) {
	old := time.Now().Add(-10 * time.Minute)
	s := slacksim.New(slacksim.Options{Now: func() time.Time { return old }})
	c, _ := New(s.ChannelConfig("slack", ""))
	d := s.Deliveries("http://gateway.test/hooks/slack")[1]
	if err := c.Authenticate(toRequest(d)); !errors.Is(err, connector.ErrSignature) {
		t.Fatalf("10-minute-old delivery: %v", err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
