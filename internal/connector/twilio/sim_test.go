package twilio

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
	twiliosim "github.com/onrecord/onrecord/internal/sim/twilio"
)

const hookBase = "https://records.harborstreetbank.example"

// newSim serves a simulator and returns it with a connector wired to it.
func newSim(t *testing.T) (*twiliosim.Sim, *Connector, *httptest.Server) {
	t.Helper()
	s := twiliosim.New(twiliosim.Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	s.SetBaseURL(srv.URL)
	c, err := New(s.ChannelConfig("sms", hookBase))
	if err != nil {
		t.Fatal(err)
	}
	return s, c, srv
}

// request turns a simulated delivery into what the gateway hands a
// connector, with the public URL it would rebuild.
func request(t testing.TB, d sim.Delivery) *connector.Request {
	t.Helper()
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &connector.Request{
		Method: d.Method, URL: &url.URL{Path: u.Path, RawQuery: u.RawQuery}, PublicURL: hookBase + u.RequestURI(),
		Header: d.Header.Clone(), Body: bytes.Clone(d.Body), ReceivedAt: received,
	}
}

func TestSim_EveryDeliveryAuthenticatesAndParses(t *testing.T) {
	s, c, _ := newSim(t)
	ds := s.Deliveries(hookBase + "/hooks/sms")
	kinds := map[string]bool{}
	seen := map[string]string{}
	for _, d := range ds {
		kinds[d.Kind] = true
		req := request(t, d)
		if err := c.Authenticate(req); err != nil {
			t.Errorf("%s: %v", d.Kind, err)
			continue
		}
		evs, err := c.Parse(req)
		if err != nil {
			t.Errorf("%s: %v", d.Kind, err)
			continue
		}
		if len(evs) == 0 {
			t.Errorf("%s: no events", d.Kind)
		}
		for _, ev := range evs {
			e := ev.Event
			e.Channel = "sms"
			if err := e.Validate(); err != nil {
				t.Errorf("%s: %v", d.Kind, err)
			}
			if prev, dup := seen[e.IdempotencyKey()]; dup {
				t.Errorf("%s: duplicate %s %s (also from %s)", d.Kind, e.Kind, e.ProviderID, prev)
			}
			seen[e.IdempotencyKey()] = d.Kind
		}
		// The same delivery signed for another URL must not verify.
		bad := request(t, d)
		bad.PublicURL = strings.Replace(bad.PublicURL, "/hooks/sms", "/hooks/smz", 1)
		if err := c.Authenticate(bad); !errors.Is(err, connector.ErrSignature) {
			t.Errorf("%s: verified against another URL", d.Kind)
		}
	}
	for _, k := range []string{
		"sms_text", "sms_text_get", "mms", "whatsapp_text", "whatsapp_image", "whatsapp_document", "whatsapp_location",
		"whatsapp_button", "whatsapp_reply", "whatsapp_forwarded", "whatsapp_referral", "whatsapp_unsupported",
		"status_queued", "status_sending", "status_sent", "status_delivered", "status_undelivered", "status_whatsapp_failed",
		"status_whatsapp_read", "status_receiving", "status_received", "status_accepted", "status_scheduled", "status_canceled",
		"conversations_message_added", "conversations_message_updated", "conversations_message_removed",
		"conversations_delivery_updated", "conversations_participant_added", "eventstreams_batch", "unknown_form",
	} {
		if !kinds[k] {
			t.Errorf("Deliveries lacks kind %q", k)
		}
	}
}

func TestSim_DeliveriesMapToTheirKinds(t *testing.T) {
	s, c, _ := newSim(t)
	byKind := map[string][]connector.Event{}
	for _, d := range s.Deliveries(hookBase + "/hooks/sms") {
		evs, err := c.Parse(request(t, d))
		if err != nil {
			t.Fatalf("%s: %v", d.Kind, err)
		}
		byKind[d.Kind] = evs
	}
	checks := []struct {
		kind string
		ok   func(e connector.Event) bool
	}{
		{"mms", func(e connector.Event) bool { return len(e.Media) == 2 && e.Media[1].ContentType == "application/pdf" }},
		{"whatsapp_location", func(e connector.Event) bool {
			return e.Subtype == "location" && strings.HasPrefix(e.Body, "📍 42.3554334,-71.0605595")
		}},
		{"whatsapp_reply", func(e connector.Event) bool { return e.ReplyTo != "" && e.Sender.Name == "Tomás García" }},
		{"whatsapp_forwarded", func(e connector.Event) bool { return e.Forwarded }},
		{"whatsapp_unsupported", func(e connector.Event) bool { return e.Subtype == "unsupported" && e.Meta["MessageType"] == "order" }},
		{"status_whatsapp_failed", func(e connector.Event) bool {
			return e.Kind == onrecord.KindStatus && strings.HasPrefix(e.StatusError, "63016")
		}},
		{"conversations_message_updated", func(e connector.Event) bool { return e.Kind == onrecord.KindEdit && e.Target != "" }},
		{"conversations_message_removed", func(e connector.Event) bool { return e.Kind == onrecord.KindDelete && e.Target != "" }},
		{"conversations_participant_added", func(e connector.Event) bool { return e.Kind == onrecord.KindSystem }},
		{"eventstreams_link_clicked", func(e connector.Event) bool {
			return e.Kind == onrecord.KindSystem && e.Subtype == "com.twilio.messaging.link.clicked"
		}},
		{"unknown_form", func(e connector.Event) bool { return e.Kind == onrecord.KindSystem && e.Subtype == "unsupported" }},
	}
	for _, ch := range checks {
		evs := byKind[ch.kind]
		if len(evs) != 1 || !ch.ok(evs[0]) {
			t.Errorf("%s mapped to %+v", ch.kind, evs)
		}
	}
	if n := len(byKind["eventstreams_batch"]); n != 3 {
		t.Errorf("eventstreams_batch: %d events, want 3", n)
	}
}

func TestSim_WorkloadHasNoDuplicatesAndIsDeterministic(t *testing.T) {
	s, c, _ := newSim(t)
	ds := s.Workload(hookBase+"/hooks/sms", 42, 1000)
	if len(ds) != 1000 {
		t.Fatalf("got %d deliveries", len(ds))
	}
	seen := map[string]bool{}
	targets := map[string]bool{}
	kinds := map[onrecord.EventKind]int{}
	for i, d := range ds {
		req := request(t, d)
		if err := c.Authenticate(req); err != nil {
			t.Fatalf("delivery %d (%s): %v", i, d.Kind, err)
		}
		evs, err := c.Parse(req)
		if err != nil {
			t.Fatalf("delivery %d (%s): %v", i, d.Kind, err)
		}
		if len(evs) == 0 {
			t.Fatalf("delivery %d (%s): no events", i, d.Kind)
		}
		for _, ev := range evs {
			ev.Channel = "sms"
			if seen[ev.IdempotencyKey()] {
				t.Fatalf("delivery %d (%s): duplicate %s %s", i, d.Kind, ev.Kind, ev.ProviderID)
			}
			seen[ev.IdempotencyKey()] = true
			kinds[ev.Kind]++
			if ev.Kind == onrecord.KindMessage {
				targets[ev.ProviderID] = true
			}
			if (ev.Kind == onrecord.KindEdit || ev.Kind == onrecord.KindDelete) && !targets[ev.Target] {
				t.Errorf("delivery %d: %s of %s before the message", i, ev.Kind, ev.Target)
			}
		}
	}
	for _, k := range []onrecord.EventKind{onrecord.KindMessage, onrecord.KindStatus, onrecord.KindEdit, onrecord.KindDelete} {
		if kinds[k] == 0 {
			t.Errorf("workload has no %s events", k)
		}
	}
	again := s.Workload(hookBase+"/hooks/sms", 42, 1000)
	for i := range ds {
		if !bytes.Equal(ds[i].Body, again[i].Body) || ds[i].URL != again[i].URL {
			t.Fatalf("delivery %d differs between runs with the same seed", i)
		}
	}
	other := s.Workload(hookBase+"/hooks/sms", 43, 10)
	if bytes.Equal(other[0].Body, ds[0].Body) {
		t.Error("different seeds gave the same first delivery")
	}
}

func TestFetch_FollowsRedirectWithBasicAuth(t *testing.T) {
	s, c, _ := newSim(t)
	var mms sim.Delivery
	for _, d := range s.Deliveries(hookBase + "/hooks/sms") {
		if d.Kind == "mms" {
			mms = d
		}
	}
	evs, err := c.Parse(request(t, mms))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range evs[0].Media {
		body, ct, err := c.Fetch(t.Context(), http.DefaultClient, m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(body)
		body.Close()
		if err != nil {
			t.Fatal(err)
		}
		sid := m.Ref[strings.LastIndexByte(m.Ref, '/')+1:]
		if ct != m.ContentType || !bytes.Equal(got, twiliosim.MediaBytes(sid)) {
			t.Errorf("%s: content type %q (want %q), %d bytes", m.Name, ct, m.ContentType, len(got))
		}
	}

	// Wrong credentials: the API refuses.
	cfg := s.ChannelConfig("sms", hookBase)
	cfg.AuthToken = "wrong"
	bad, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bad.Fetch(t.Context(), http.DefaultClient, evs[0].Media[0]); err == nil || !strings.Contains(err.Error(), "20003") {
		t.Errorf("fetch with wrong token: %v", err)
	}
}

func TestFetch_RefusesToSendCredentialsElsewhere(t *testing.T) {
	_, c, _ := newSim(t)
	var hit bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = true }))
	defer other.Close()
	for _, ref := range []string{other.URL + "/media/ME1", "http://api.twilio.com.evil.example/x", "ftp://api.twilio.com/x", "::"} {
		if _, _, err := c.Fetch(t.Context(), http.DefaultClient, connector.MediaRef{Ref: ref}); err == nil {
			t.Errorf("fetch %q: no error", ref)
		}
	}
	if hit {
		t.Error("credentials were sent to a non-Twilio host")
	}
}

func TestSend_CreatesMessageAndReturnsSid(t *testing.T) {
	s, c, _ := newSim(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	sid, err := c.Send(ctx, http.DefaultClient, connector.Outbound{To: "+13125550142", Body: "The wire was released at 10:14 ET."})
	if err != nil {
		t.Fatal(err)
	}
	sid2, err := c.Send(ctx, http.DefaultClient, connector.Outbound{To: "whatsapp:+13055550123", Body: "Statement attached.",
		Attachments: []onrecord.Attachment{{Name: "march.pdf", Ref: "https://files.harborstreetbank.example/march.pdf"}}})
	if err != nil {
		t.Fatal(err)
	}
	sent := s.Sent()
	if len(sent) != 2 || sent[0].SID != sid || sent[1].SID != sid2 || !strings.HasPrefix(sid, "SM") || !strings.HasPrefix(sid2, "MM") {
		t.Fatalf("sent %+v, sids %q %q", sent, sid, sid2)
	}
	if sent[0].To != "+13125550142" || sent[0].From != "+12125550100" || sent[0].Body != "The wire was released at 10:14 ET." ||
		sent[0].StatusCallback != hookBase+"/hooks/sms" {
		t.Errorf("first message %+v", sent[0])
	}
	if sent[1].From != "whatsapp:+12125550100" || len(sent[1].MediaURLs) != 1 {
		t.Errorf("whatsapp message %+v", sent[1])
	}
}

func TestSend_Errors(t *testing.T) {
	s, c, _ := newSim(t)
	tests := []struct {
		name string
		c    func() *Connector
		msg  connector.Outbound
		want string
	}{
		{"no recipient", func() *Connector { return c }, connector.Outbound{Body: "x"}, "no recipient"},
		{"nothing to send", func() *Connector { return c }, connector.Outbound{To: "+1"}, "neither body"},
		{"attachment without URL", func() *Connector { return c }, connector.Outbound{To: "+1", Attachments: []onrecord.Attachment{{Name: "a.pdf", Data: []byte("x")}}}, "public URL"},
		{"no from configured", func() *Connector {
			cfg := s.ChannelConfig("sms", hookBase)
			cfg.From = ""
			n, _ := New(cfg)
			return n
		}, connector.Outbound{To: "+1", Body: "x"}, "from is required"},
		{"API refuses credentials", func() *Connector {
			cfg := s.ChannelConfig("sms", hookBase)
			cfg.AuthToken = "wrong"
			n, _ := New(cfg)
			return n
		}, connector.Outbound{To: "+1", Body: "x"}, "20003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c().Send(t.Context(), http.DefaultClient, tt.msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	if len(s.Sent()) != 0 {
		t.Errorf("refused sends were recorded: %+v", s.Sent())
	}
}

func TestNew_ValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  connector.Config
		want string
	}{
		{"no auth token", connector.Config{Name: "sms", AccountSID: "AC1"}, `channel "sms": auth_token is required`},
		{"no account sid", connector.Config{Name: "sms", AuthToken: "t"}, `channel "sms": account_sid is required`},
		{"bad account sid", connector.Config{Name: "sms", AuthToken: "t", AccountSID: "AC1/../x"}, "account_sid"},
		{"bad api base", connector.Config{Name: "sms", AuthToken: "t", AccountSID: "AC1", APIBaseURL: "api.twilio.com"}, "api_base_url"},
		{"bad public url", connector.Config{Name: "sms", AuthToken: "t", AccountSID: "AC1", PublicURL: "records"}, "public_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	c, err := New(connector.Config{Name: "sms", AuthToken: "t", AccountSID: "AC1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.apiBase.String() != DefaultAPIBaseURL {
		t.Errorf("api base defaults to %s", c.apiBase)
	}
	if resp, ok, err := c.Handshake(&connector.Request{}); resp != nil || ok || err != nil {
		t.Error("Twilio has no handshake")
	}
}

// TestSignature_SharedKeys: deliveries a Twilio Webhook Rule signs with a
// Setting's SharedKey (X-Twilio-Webhooks-Signature-Settings) verify with
// the channel's shared_keys, every kind of them, with either algorithm and
// with either key of a rotation; without the key, with a wrong one or an
// algorithm onrecord does not know, they are refused and told why.
func TestSignature_SharedKeys(t *testing.T) {
	const key, oldKey = "sk-secret-9c2f71e04b8d4a6f93e1", "sk-secret-previous-0a1b2c3d4e5f"
	for _, tc := range []struct {
		name    string
		alg     string
		keys    []string // the channel's shared_keys
		header  func(http.Header)
		wantErr string
	}{
		{name: "HMAC_SHA256", alg: "HMAC_SHA256", keys: []string{key}},
		{name: "HMAC_SHA1", alg: "HMAC_SHA1", keys: []string{key}},
		{name: "during a rotation", alg: "HMAC_SHA256", keys: []string{oldKey, key}},
		{name: "the Auth Token still, beside shared_keys", keys: []string{key}},
		{name: "no shared_keys", alg: "HMAC_SHA256", wantErr: "the channel has no shared_keys"},
		{name: "another key", alg: "HMAC_SHA256", keys: []string{oldKey}, wantErr: "does not match any of shared_keys"},
		{name: "unknown algorithm", alg: "HMAC_SHA256", keys: []string{key}, wantErr: `algorithm onrecord does not verify: "HMAC_MD5"`,
			header: func(h http.Header) { h.Set(SignatureSettingsHeader, "key=k,algorithm=HMAC_MD5") }},
		{name: "the header dropped", alg: "HMAC_SHA256", keys: []string{key}, wantErr: "malformed X-Twilio-Signature",
			header: func(h http.Header) { h.Del(SignatureSettingsHeader) }},
		{name: "the algorithm changed", alg: "HMAC_SHA1", keys: []string{key}, wantErr: "malformed X-Twilio-Signature",
			header: func(h http.Header) { h.Set(SignatureSettingsHeader, "key=k,algorithm=HMAC_SHA256") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := twiliosim.Options{SharedKey: key, SharedKeyAlgorithm: tc.alg}
			if tc.alg == "" {
				opts = twiliosim.Options{} // signed with the Auth Token
			}
			s := twiliosim.New(opts)
			cfg := s.ChannelConfig("sms", hookBase)
			cfg.SharedKeys = tc.keys
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ds := s.Deliveries(hookBase + "/hooks/sms")
			if len(ds) < 20 {
				t.Fatalf("%d deliveries", len(ds))
			}
			for _, d := range ds {
				if (d.Header.Get(SignatureSettingsHeader) == "") != (tc.alg == "") {
					t.Fatalf("%s: the simulator did not say it signed with a shared key", d.Kind)
				}
				req := request(t, d)
				if tc.header != nil {
					tc.header(req.Header)
				}
				err := c.Authenticate(req)
				if tc.wantErr == "" && err != nil {
					t.Errorf("%s: %v", d.Kind, err)
				}
				if tc.wantErr != "" && (!errors.Is(err, connector.ErrSignature) || !strings.Contains(err.Error(), tc.wantErr)) {
					t.Errorf("%s: %v, want a signature error with %q", d.Kind, err, tc.wantErr)
				}
			}
		})
	}
}
