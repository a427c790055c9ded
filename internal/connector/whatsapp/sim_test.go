package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
	"github.com/onrecord/onrecord/internal/sim"
	whatsappsim "github.com/onrecord/onrecord/internal/sim/whatsapp"
)

// newSim serves a simulator and returns it with a connector wired to it.
func newSim(t *testing.T) (*whatsappsim.Sim, *Connector, *http.Client) {
	t.Helper()
	s := whatsappsim.New(whatsappsim.Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	s.SetBaseURL(srv.URL)
	c, err := New(s.ChannelConfig("wa", "https://gateway.example"))
	if err != nil {
		t.Fatal(err)
	}
	return s, c, srv.Client()
}

// toRequest turns a delivery into what the gateway hands the connector.
func toRequest(t testing.TB, d sim.Delivery) *connector.Request {
	t.Helper()
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &connector.Request{Method: d.Method, URL: u, Header: d.Header.Clone(), Body: d.Body, ReceivedAt: received}
}

type dupKey struct {
	id   string
	kind onrecord.EventKind
}

// Every scripted kind maps to the event kind (and, for fields, subtype)
// the connector promises.
var deliveryKinds = map[string]onrecord.EventKind{
	"text": onrecord.KindMessage, "reply": onrecord.KindMessage, "forwarded": onrecord.KindMessage, "frequently_forwarded": onrecord.KindMessage,
	"image": onrecord.KindMessage, "media_with_url": onrecord.KindMessage, "video": onrecord.KindMessage, "audio": onrecord.KindMessage,
	"voice": onrecord.KindMessage, "document": onrecord.KindMessage, "sticker": onrecord.KindMessage, "location": onrecord.KindMessage,
	"contacts": onrecord.KindMessage, "interactive_button_reply": onrecord.KindMessage, "interactive_list_reply": onrecord.KindMessage,
	"interactive_nfm_reply": onrecord.KindMessage, "button": onrecord.KindMessage, "order": onrecord.KindMessage,
	"reaction": onrecord.KindReaction, "unreaction": onrecord.KindReaction, "edit": onrecord.KindEdit, "revoke": onrecord.KindDelete,
	"unsupported": onrecord.KindMessage, "request_welcome": onrecord.KindSystem,
	"system_customer_changed_number": onrecord.KindSystem, "system_customer_identity_changed": onrecord.KindSystem,
	"status_sent": onrecord.KindStatus, "status_delivered": onrecord.KindStatus, "status_read": onrecord.KindStatus,
	"status_played": onrecord.KindStatus, "status_failed": onrecord.KindStatus, "group_text": onrecord.KindMessage,
	"group_status": onrecord.KindStatus, "echo_text": onrecord.KindMessage, "echo_document": onrecord.KindMessage,
	"echo_edit": onrecord.KindEdit, "echo_revoke": onrecord.KindDelete, "webhook_error": onrecord.KindSystem,
	"batch":          onrecord.KindMessage,
	"account_update": onrecord.KindSystem, "account_review_update": onrecord.KindSystem, "phone_number_quality_update": onrecord.KindSystem,
	"phone_number_name_update": onrecord.KindSystem, "template_message_status_update": onrecord.KindSystem,
	"business_capability_update": onrecord.KindSystem, "account_alerts": onrecord.KindSystem, "security": onrecord.KindSystem,
	"history": onrecord.KindSystem, "history_media": onrecord.KindSystem, "history_declined": onrecord.KindSystem,
	"smb_app_state_sync": onrecord.KindSystem,
}

func TestSimDeliveries_EveryKindAuthenticatesAndParses(t *testing.T) {
	s, c, client := newSim(t)
	ds := s.Deliveries("https://gateway.example/hooks/wa")
	seen := map[string]bool{}
	keys := map[dupKey]string{}
	for _, d := range ds {
		seen[d.Kind] = true
		req := toRequest(t, d)
		resp, ok, err := c.Handshake(req)
		if d.Kind == "verification" {
			if !ok || err != nil || string(resp.Body) != "1158201444" {
				t.Fatalf("verification: ok=%v err=%v resp=%+v", ok, err, resp)
			}
			continue
		}
		if ok || err != nil {
			t.Fatalf("%s: POST taken for a handshake (ok=%v err=%v)", d.Kind, ok, err)
		}
		if !bytes.Equal(d.Body, whatsappsim.EscapeNonASCII(d.Body)) {
			t.Fatalf("%s: body is not in Meta's ASCII form", d.Kind)
		}
		if err := c.Authenticate(req); err != nil {
			t.Fatalf("%s: %v", d.Kind, err)
		}
		evs, err := c.Parse(req)
		if err != nil {
			t.Fatalf("%s: %v", d.Kind, err)
		}
		if len(evs) == 0 {
			t.Fatalf("%s: no events", d.Kind)
		}
		wantKind, known := deliveryKinds[d.Kind]
		if !known {
			t.Errorf("delivery kind %q has no expectation in this test", d.Kind)
		}
		if evs[0].Kind != wantKind {
			t.Errorf("%s: first event kind %s, want %s", d.Kind, evs[0].Kind, wantKind)
		}
		for i := range evs {
			ev := &evs[i]
			assertValid(t, ev)
			k := dupKey{ev.ProviderID, ev.Kind}
			if prev, dup := keys[k]; dup {
				t.Errorf("%s: (%s, %s) already produced by %s", d.Kind, ev.ProviderID, ev.Kind, prev)
			}
			keys[k] = d.Kind
			if strings.HasPrefix(d.Kind, "echo_") && ev.Direction != onrecord.Outbound {
				t.Errorf("%s: direction %s, want outbound", d.Kind, ev.Direction)
			}
			if ev.Kind == onrecord.KindSystem && wantKind == onrecord.KindSystem && !strings.HasPrefix(d.Kind, "system_") &&
				d.Kind != "webhook_error" && d.Kind != "request_welcome" && !strings.HasPrefix(d.Kind, "history") && ev.Subtype != d.Kind &&
				(d.Kind != "smb_app_state_sync" || i == 0) { // a state sync's items follow the delivery's record
				t.Errorf("%s: subtype %q, want the field name", d.Kind, ev.Subtype)
			}
			// Every media reference the webhooks carry can be fetched.
			for _, m := range ev.Media {
				body, ct, err := c.Fetch(t.Context(), client, m)
				if err != nil {
					t.Fatalf("%s: fetch %s: %v", d.Kind, m.Ref, err)
				}
				data, err := io.ReadAll(body)
				body.Close()
				if err != nil || len(data) == 0 || ct == "" {
					t.Fatalf("%s: fetch %s: %d bytes, type %q, err %v", d.Kind, m.Ref, len(data), ct, err)
				}
			}
		}
	}
	for k := range deliveryKinds {
		if !seen[k] {
			t.Errorf("the simulator has no %q delivery", k)
		}
	}
	if !seen["verification"] {
		t.Error("the simulator has no verification delivery")
	}
}

func TestSimWorkload_ParsesWithoutDuplicatesAndIsDeterministic(t *testing.T) {
	s, c, _ := newSim(t)
	const n = 1000
	ds := s.Workload("https://gateway.example/hooks/wa", 7, n)
	if len(ds) != n {
		t.Fatalf("got %d deliveries, want %d", len(ds), n)
	}
	keys := make(map[dupKey]bool, 2*n)
	kinds := map[onrecord.EventKind]int{}
	groups, outbound, media := 0, 0, 0
	for i, d := range ds {
		req := toRequest(t, d)
		if err := c.Authenticate(req); err != nil {
			t.Fatalf("delivery %d (%s): %v", i, d.Kind, err)
		}
		evs, err := c.Parse(req)
		if err != nil || len(evs) == 0 {
			t.Fatalf("delivery %d (%s): %d events, %v", i, d.Kind, len(evs), err)
		}
		for j := range evs {
			ev := &evs[j]
			assertValid(t, ev)
			k := dupKey{ev.ProviderID, ev.Kind}
			if keys[k] {
				t.Fatalf("delivery %d (%s): duplicate (%s, %s)", i, d.Kind, ev.ProviderID, ev.Kind)
			}
			keys[k] = true
			kinds[ev.Kind]++
			if ev.Group {
				groups++
			}
			if ev.Direction == onrecord.Outbound && ev.Kind == onrecord.KindMessage {
				outbound++
			}
			media += len(ev.Media)
		}
	}
	for _, k := range []onrecord.EventKind{onrecord.KindMessage, onrecord.KindEdit, onrecord.KindDelete, onrecord.KindReaction, onrecord.KindStatus} {
		if kinds[k] == 0 {
			t.Errorf("workload has no %s events: %v", k, kinds)
		}
	}
	if groups == 0 || outbound == 0 || media == 0 {
		t.Errorf("workload lacks variety: %d group, %d outbound, %d media", groups, outbound, media)
	}
	again := s.Workload("https://gateway.example/hooks/wa", 7, n)
	other := s.Workload("https://gateway.example/hooks/wa", 8, n)
	for i := range ds {
		if !bytes.Equal(ds[i].Body, again[i].Body) {
			t.Fatalf("delivery %d differs for the same seed", i)
		}
	}
	if bytes.Equal(ds[0].Body, other[0].Body) {
		t.Fatal("different seeds give the same workload")
	}
}

func TestFetch_MediaIDTwoStepsWithBearer(t *testing.T) {
	s, c, client := newSim(t)
	var ref connector.MediaRef
	for _, d := range s.Deliveries("https://gateway.example/hooks/wa") {
		if d.Kind == "voice" {
			evs, err := c.Parse(toRequest(t, d))
			if err != nil {
				t.Fatal(err)
			}
			ref = evs[0].Media[0]
		}
	}
	body, ct, err := c.Fetch(t.Context(), client, ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(body)
	body.Close()
	if err != nil {
		t.Fatal(err)
	}
	want, wantCT, _ := s.MediaBytes(ref.Ref)
	if !bytes.Equal(got, want) || ct != wantCT {
		t.Fatalf("fetched %d bytes of %q, want %d of %q", len(got), ct, len(want), wantCT)
	}

	t.Run("wrong token", func(t *testing.T) {
		cfg := s.ChannelConfig("wa", "")
		cfg.AccessToken = "expired"
		bad, _ := New(cfg)
		_, _, err := bad.Fetch(t.Context(), client, ref)
		if err == nil || !strings.Contains(err.Error(), "190") || strings.Contains(err.Error(), "expired") {
			t.Fatalf("err = %v, want Graph's code 190 and no token", err)
		}
	})
	t.Run("unknown id", func(t *testing.T) {
		if _, _, err := c.Fetch(t.Context(), client, connector.MediaRef{Ref: "999"}); err == nil {
			t.Fatal("unknown media id fetched")
		}
	})
	t.Run("id that is a path", func(t *testing.T) {
		if _, _, err := c.Fetch(t.Context(), client, connector.MediaRef{Ref: "../me"}); err == nil {
			t.Fatal("a path was accepted as a media id")
		}
	})
}

type refuseTransport struct{ t *testing.T }

func (r refuseTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.t.Errorf("request to %s must not be made", req.URL.Host)
	return nil, errors.New("refused")
}

func TestFetch_TokenIsNeverSentToForeignHosts(t *testing.T) {
	c := mustConnector(t)
	client := &http.Client{Transport: refuseTransport{t}}
	for _, u := range []string{"https://attacker.example/x", "http://lookaside.fbsbx.com/x", "https://fbsbx.com.attacker.example/x"} {
		if _, _, err := c.Fetch(t.Context(), client, connector.MediaRef{Ref: u}); err == nil {
			t.Errorf("%s: fetched", u)
		}
	}
	u, _ := url.Parse("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1")
	if !c.mayReceiveToken(u) {
		t.Error("Meta's lookaside host refused")
	}
}

func TestFetch_CorruptDownloadFailsAtTheEnd(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/v21.0/42" {
			io.WriteString(w, `{"url":"`+srv.URL+`/dl/42","mime_type":"image/jpeg","sha256":"`+strings.Repeat("ab", 32)+`","id":"42"}`)
			return
		}
		io.WriteString(w, "not the announced bytes")
	}))
	defer srv.Close()
	c, err := New(connector.Config{Name: "wa", AppSecret: "s", VerifyToken: "v", AccessToken: "tok", APIBaseURL: srv.URL + "/v21.0"})
	if err != nil {
		t.Fatal(err)
	}
	body, ct, err := c.Fetch(t.Context(), srv.Client(), connector.MediaRef{Ref: "42"})
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	if _, err := io.ReadAll(body); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("read err = %v, want a sha256 mismatch", err)
	}
	if ct != "image/jpeg" && !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("content type %q", ct)
	}
}

func TestSend_TextAndAttachmentsThroughTheSimulator(t *testing.T) {
	s, c, client := newSim(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	id, err := c.Send(ctx, client, connector.Outbound{To: "+1 415-555-0123", Body: "Your statement is ready, Margaret — Sarah"})
	if err != nil {
		t.Fatal(err)
	}
	sent := s.Sent()
	if len(sent) != 1 || sent[0].ID != id || sent[0].Type != "text" || sent[0].To != "+1 415-555-0123" ||
		sent[0].Body != "Your statement is ready, Margaret — Sarah" || !strings.HasPrefix(id, "wamid.") {
		t.Fatalf("sent %+v, id %q", sent, id)
	}

	pdf := []byte("%PDF-1.7\nstatement")
	ids, err := c.Send(ctx, client, connector.Outbound{To: "14155550123", Body: "Q1 statement attached",
		Attachments: []onrecord.Attachment{{Name: "q1.pdf", ContentType: "application/pdf", Data: pdf}, {Name: "chart.png", ContentType: "image/png", Data: []byte("\x89PNG")}}})
	if err != nil {
		t.Fatal(err)
	}
	sent = s.Sent()[1:]
	if len(sent) != 2 || ids != sent[0].ID+","+sent[1].ID {
		t.Fatalf("ids %q for %+v", ids, sent)
	}
	if sent[0].Type != "document" || sent[0].Body != "Q1 statement attached" || sent[1].Type != "image" || sent[1].Body != "" {
		t.Fatalf("caption should ride on the first attachment: %+v", sent)
	}
	// What was uploaded is what Graph serves back.
	body, ct, err := c.Fetch(ctx, client, connector.MediaRef{Ref: sent[0].MediaID})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if !bytes.Equal(got, pdf) || ct != "application/pdf" {
		t.Fatalf("round trip: %q %q", got, ct)
	}

	t.Run("audio cannot carry the text", func(t *testing.T) {
		before := len(s.Sent())
		if _, err := c.Send(ctx, client, connector.Outbound{To: "14155550123", Body: "voice note",
			Attachments: []onrecord.Attachment{{Name: "n.ogg", ContentType: "audio/ogg", Data: []byte("OggS")}}}); err != nil {
			t.Fatal(err)
		}
		after := s.Sent()[before:]
		if len(after) != 2 || after[0].Type != "text" || after[1].Type != "audio" {
			t.Fatalf("%+v", after)
		}
	})
	t.Run("Graph errors are reported", func(t *testing.T) {
		cfg := s.ChannelConfig("wa", "")
		cfg.PhoneNumberID = "000"
		bad, _ := New(cfg)
		if _, err := bad.Send(ctx, client, connector.Outbound{To: "1", Body: "x"}); err == nil || !strings.Contains(err.Error(), "code 100") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no phone_number_id", func(t *testing.T) {
		cfg := s.ChannelConfig("wa", "")
		cfg.PhoneNumberID = ""
		bad, _ := New(cfg)
		if _, err := bad.Send(ctx, client, connector.Outbound{To: "1", Body: "x"}); err == nil || !strings.Contains(err.Error(), "phone_number_id is required") {
			t.Fatalf("err = %v", err)
		}
	})
}
