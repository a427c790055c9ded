package signal

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
	"github.com/onrecord/onrecord/internal/sim"
	signalsim "github.com/onrecord/onrecord/internal/sim/signal"
)

// newSim serves a simulator and returns it with a connector wired to it.
func newSim(t *testing.T, opts signalsim.Options, keepTyping bool) (*signalsim.Sim, *Connector, *httptest.Server) {
	t.Helper()
	s := signalsim.New(opts)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	s.SetBaseURL(srv.URL)
	cfg := s.ChannelConfig("sig", "https://archive.example.com")
	cfg.KeepTyping = keepTyping
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, c, srv
}

// asRequest turns a pushed delivery into what the gateway hands over.
func asRequest(t testing.TB, d sim.Delivery, remote string) *connector.Request {
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &connector.Request{Method: d.Method, URL: u, Header: d.Header, Body: d.Body, RemoteAddr: remote,
		ReceivedAt: time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)}
}

func TestSim_DeliveriesAuthenticateAndParse(t *testing.T) {
	for _, keep := range []bool{false, true} {
		s, c, _ := newSim(t, signalsim.Options{PushToken: "tok-123"}, keep)
		ds := s.Deliveries("https://archive.example.com/hooks/sig")
		kinds := map[string]bool{}
		subtypes := map[string]bool{}
		for _, d := range ds {
			kinds[d.Kind] = true
			req := asRequest(t, d, "198.51.100.7:40000")
			if err := c.Authenticate(req); err != nil {
				t.Fatalf("%s: Authenticate: %v", d.Kind, err)
			}
			evs, err := c.Parse(req)
			if err != nil {
				t.Fatalf("%s: Parse: %v\n%s", d.Kind, err, d.Body)
			}
			checkValid(t, evs)
			if strings.HasPrefix(d.Kind, "typing_") && !keep {
				if len(evs) != 0 {
					t.Errorf("%s without keep_typing: %d events", d.Kind, len(evs))
				}
				continue
			}
			if len(evs) == 0 {
				t.Errorf("%s: no events", d.Kind)
			}
			for _, ev := range evs {
				subtypes[string(ev.Kind)+"/"+ev.Subtype] = true
			}
			// A body changed by one byte in the token is refused.
			bad := asRequest(t, d, "198.51.100.7:40000")
			bad.URL.RawQuery = "token=tok-124"
			if err := c.Authenticate(bad); !errors.Is(err, connector.ErrSignature) {
				t.Errorf("%s: wrong token accepted", d.Kind)
			}
		}
		for _, k := range []string{"text", "text_payload_form", "text_subscription_form", "sync_sent_text", "group_text",
			"sync_sent_group_text", "group_mention", "image", "document", "quote_reply", "disappearing", "expiration_update",
			"view_once", "sticker", "contact", "link_preview", "poll_create", "poll_vote", "poll_terminate", "edit", "group_edit",
			"reaction", "reaction_remove", "group_reaction", "sync_sent_reaction", "receipt_delivered", "receipt_read",
			"receipt_viewed", "sync_read", "sync_sent_edit", "sync_sent_delete", "delete", "group_update", "sync_contacts",
			"story", "decryption_failure", "typing_started", "typing_stopped", "call_offer", "call_hangup"} {
			if !kinds[k] {
				t.Errorf("Deliveries has no %q", k)
			}
		}
		for _, st := range []string{"message/text", "message/image", "message/file", "message/sticker", "message/contacts",
			"message/link_preview", "message/poll", "message/poll_vote", "message/poll_terminate", "edit/text",
			"delete/remote_delete", "reaction/reaction", "status/receipt", "status/read_sync", "system/expiration_update",
			"system/group_update", "system/sync_contacts_sync", "system/story", "system/decryption_failed", "system/call_offer", "system/call_hangup"} {
			if !subtypes[st] {
				t.Errorf("Deliveries produce no %s event", st)
			}
		}
		if keep && !subtypes["status/typing"] {
			t.Error("keep_typing: no typing status")
		}
	}
}

func TestSim_Workload1000HasNoDuplicates(t *testing.T) {
	s, c, _ := newSim(t, signalsim.Options{}, false)
	ds := s.Workload("http://127.0.0.1:8090/hooks/sig", 7, 1000)
	if len(ds) != 1000 {
		t.Fatalf("Workload returned %d deliveries", len(ds))
	}
	seen := map[string]string{}
	counts := map[onrecord.EventKind]int{}
	groups := 0
	for i, d := range ds {
		req := asRequest(t, d, "127.0.0.1:40000")
		if err := c.Authenticate(req); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		evs, err := c.Parse(req)
		if err != nil {
			t.Fatalf("delivery %d (%s): %v\n%s", i, d.Kind, err, d.Body)
		}
		if len(evs) == 0 {
			t.Fatalf("delivery %d (%s): no events", i, d.Kind)
		}
		checkValid(t, evs)
		for _, ev := range evs {
			key := string(ev.Kind) + "\x00" + ev.ProviderID
			if prev, dup := seen[key]; dup {
				t.Fatalf("delivery %d (%s): duplicate %s %s (first in %s)", i, d.Kind, ev.Kind, ev.ProviderID, prev)
			}
			seen[key] = d.Kind
			counts[ev.Kind]++
			if ev.Group {
				groups++
			}
		}
	}
	for _, k := range []onrecord.EventKind{onrecord.KindMessage, onrecord.KindEdit, onrecord.KindDelete, onrecord.KindReaction, onrecord.KindStatus, onrecord.KindSystem} {
		if counts[k] == 0 {
			t.Errorf("workload has no %s events: %v", k, counts)
		}
	}
	if groups == 0 {
		t.Error("workload has no group events")
	}
	again := s.Workload("http://127.0.0.1:8090/hooks/sig", 7, 1000)
	for i := range ds {
		if !bytes.Equal(ds[i].Body, again[i].Body) {
			t.Fatalf("workload is not deterministic at %d", i)
		}
	}
}

func TestFetch_DownloadsAttachmentFromSim(t *testing.T) {
	s, c, srv := newSim(t, signalsim.Options{}, false)
	var refsSeen []connector.MediaRef
	for _, d := range s.Deliveries("http://x/hooks/sig") {
		evs, err := c.Parse(asRequest(t, d, "127.0.0.1:1"))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			refsSeen = append(refsSeen, ev.Media...)
		}
	}
	if len(refsSeen) == 0 {
		t.Fatal("no media in Deliveries")
	}
	for _, m := range refsSeen {
		body, ct, err := c.Fetch(t.Context(), srv.Client(), m)
		if err != nil {
			t.Fatalf("Fetch %s: %v", m.Ref, err)
		}
		got, _ := io.ReadAll(body)
		body.Close()
		if !bytes.Equal(got, signalsim.AttachmentBytes(m.Ref, m.ContentType)) {
			t.Errorf("Fetch %s: wrong bytes", m.Ref)
		}
		if ct != m.ContentType {
			t.Errorf("Fetch %s: content type %q", m.Ref, ct)
		}
	}
	// Without a type from the envelope, the bytes are sniffed.
	m := refsSeen[0]
	m.ContentType = ""
	if _, ct, err := c.Fetch(t.Context(), srv.Client(), m); err != nil || ct == "" {
		t.Errorf("sniffed Fetch = %q, %v", ct, err)
	}
	_, _, err := c.Fetch(t.Context(), srv.Client(), connector.MediaRef{Ref: "nope.jpg"})
	var rpcErr *RPCError
	if !errors.As(err, &rpcErr) || rpcErr.Method != "getAttachment" {
		t.Errorf("unknown attachment: %v", err)
	}
	if _, _, err := c.Fetch(t.Context(), srv.Client(), connector.MediaRef{}); err == nil {
		t.Error("empty ref fetched")
	}
	// Another account's daemon refuses.
	other := mustNew(t, connector.Config{Account: "+15550999", RPCURL: srv.URL})
	if _, _, err := other.Fetch(t.Context(), srv.Client(), refsSeen[0]); err == nil {
		t.Error("Fetch for another account succeeded")
	}
}

func TestSend_ToPersonAndGroupThroughSim(t *testing.T) {
	s, c, srv := newSim(t, signalsim.Options{}, false)
	id, err := c.Send(t.Context(), srv.Client(), connector.Outbound{To: "+15550111", Body: "Your statement is ready.",
		Attachments: []onrecord.Attachment{{Name: "Statement; Feb.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.7")}}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	group := "Pmpi+EfPWmsxiomLe9Nx2XF9HOE483p6iKiFj65iMwI="
	gid, err := c.Send(t.Context(), srv.Client(), connector.Outbound{To: group, Body: "Meeting moved to 3pm."})
	if err != nil {
		t.Fatalf("Send group: %v", err)
	}
	if _, err := c.Send(t.Context(), srv.Client(), connector.Outbound{To: GroupPrefix + group, Body: "Again."}); err != nil {
		t.Fatalf("Send group with prefix: %v", err)
	}
	sent := s.Sent()
	if len(sent) != 3 {
		t.Fatalf("sim recorded %d sends", len(sent))
	}
	if id != testAccount+":"+itoa(sent[0].Timestamp) || gid != testAccount+":"+itoa(sent[1].Timestamp) {
		t.Errorf("ids %q %q do not match sent timestamps", id, gid)
	}
	if sent[0].Recipients[0] != "+15550111" || sent[0].Message != "Your statement is ready." || sent[0].GroupID != "" {
		t.Errorf("sent[0] = %+v", sent[0])
	}
	if len(sent[0].Attachments) != 1 || sent[0].Attachments[0] != "data:application/pdf;filename=Statement_ Feb.pdf;base64,JVBERi0xLjc=" {
		t.Errorf("attachment = %q", sent[0].Attachments)
	}
	if sent[1].GroupID != group || sent[2].GroupID != group || len(sent[1].Recipients) != 0 {
		t.Errorf("group sends = %+v %+v", sent[1], sent[2])
	}
	if _, err := c.Send(t.Context(), srv.Client(), connector.Outbound{}); err == nil {
		t.Error("Send with no recipient succeeded")
	}
}

func TestRPC_ErrorsAreReported(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"http status", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnsupportedMediaType) }, "HTTP 415"},
		{"not json", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") }, "read response"},
		{"no result", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"jsonrpc":"2.0","id":1}`) }, "no result"},
		{"rpc error", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"jsonrpc":"2.0","error":{"code":-1,"message":"Unregistered user"},"id":1}`)
		}, "error -1: Unregistered user"},
		{"all failed", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"jsonrpc":"2.0","result":{"timestamp":5,"results":[{"type":"UNREGISTERED_FAILURE"}]},"id":1}`)
		}, "UNREGISTERED_FAILURE"},
		{"no timestamp", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"jsonrpc":"2.0","result":{},"id":1}`)
		}, "no timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			c := mustNew(t, connector.Config{RPCURL: srv.URL})
			_, err := c.Send(t.Context(), srv.Client(), connector.Outbound{To: "+15550111", Body: "x"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Send error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStream_DeliversSimWorkloadThenKeepsAlive(t *testing.T) {
	const n = 12
	s, c, srv := newSim(t, signalsim.Options{StreamCount: n, KeepAlive: 5 * time.Millisecond}, false)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	var got []*connector.Request
	done := make(chan error, 1)
	go func() {
		done <- c.Stream(ctx, srv.Client(), func(r *connector.Request) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, r)
			if len(got) == n+1 {
				cancel()
			}
			return nil
		})
	}()
	// One live notification after the queued workload.
	live := []byte(`{"envelope":{"source":"+15550111","sourceNumber":"+15550111","sourceUuid":"` + marcus + `","sourceName":"Marcus Chen","sourceDevice":1,"timestamp":1772470000000,"serverReceivedTimestamp":1772470000100,"serverDeliveredTimestamp":1772470000200,"dataMessage":{"timestamp":1772470000000,"message":"Live one","expiresInSeconds":0,"isExpirationUpdate":false,"viewOnce":false}},"account":"+15550100"}`)
	s.Notify(live)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Stream returned %v, want context.Canceled", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n+1 {
		t.Fatalf("got %d notifications, want %d", len(got), n+1)
	}
	for i, r := range got {
		if err := c.Authenticate(r); err != nil {
			t.Fatalf("notification %d: Authenticate: %v", i, err)
		}
		evs, err := c.Parse(r)
		if err != nil {
			t.Fatalf("notification %d: Parse: %v", i, err)
		}
		checkValid(t, evs)
	}
	evs, _ := c.Parse(got[n])
	if len(evs) != 1 || evs[0].Body != "Live one" {
		t.Errorf("live notification parsed to %+v", evs)
	}
}

func TestStream_DeliverErrorEndsStream(t *testing.T) {
	_, c, srv := newSim(t, signalsim.Options{StreamCount: 3}, false)
	boom := errors.New("journal full")
	err := c.Stream(t.Context(), srv.Client(), func(*connector.Request) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Stream = %v, want the deliver error", err)
	}
}

func TestStream_HTTPErrorAndClose(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("account") != testAccount {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, ":\n\nevent:receive\ndata:{\"envelope\":{}}\n\n")
	}))
	defer srv.Close()
	c := mustNew(t, connector.Config{RPCURL: srv.URL})
	n := 0
	err := c.Stream(t.Context(), srv.Client(), func(*connector.Request) error { n++; return nil })
	if err == nil || !strings.Contains(err.Error(), "closed by the daemon") || n != 1 {
		t.Fatalf("Stream = %v after %d events", err, n)
	}
	other := mustNew(t, connector.Config{RPCURL: srv.URL, Account: "+15550999"})
	if err := other.Stream(t.Context(), srv.Client(), func(*connector.Request) error { return nil }); err == nil || !strings.Contains(err.Error(), "HTTP 400") {
		t.Fatalf("Stream = %v, want HTTP 400", err)
	}
}
