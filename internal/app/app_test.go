package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/policy"
	"github.com/onrecord/onrecord/internal/policy/starter"
	"github.com/onrecord/onrecord/internal/sim"
	"github.com/onrecord/onrecord/internal/sim/fleet"
)

// harness is a gateway on an HTTP listener wired to all five simulators.
type harness struct {
	app    *App
	fleet  *fleet.Fleet
	srv    *httptest.Server
	public string
}

func newHarness(t *testing.T, opts fleet.Options) *harness {
	t.Helper()
	return startHarness(t, opts, nil)
}

func newHarnessWithToken(t *testing.T, token string) *harness {
	t.Helper()
	return startHarness(t, fleet.Options{SignalStreamCount: -1}, []string{token})
}

// fleetConfig starts the five providers' simulators and returns them, a
// server not started yet whose address is the public URL, and the default
// configuration with the simulators' channels and data in a temporary
// directory.
func fleetConfig(t *testing.T, opts fleet.Options) (*fleet.Fleet, *httptest.Server, config.Config) {
	t.Helper()
	f, err := fleet.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	srv := httptest.NewUnstartedServer(nil)
	public := "http://" + srv.Listener.Addr().String()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.PublicURL = public
	cfg.Channels = f.Channels(public)
	return f, srv, cfg
}

func startHarness(t *testing.T, opts fleet.Options, tokens []string) *harness {
	t.Helper()
	f, srv, cfg := fleetConfig(t, opts)
	public := cfg.PublicURL
	cfg.MaxBatchDelay = "200us"
	cfg.APITokens = tokens
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := Open(t.Context(), Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = a.PublicHandler()
	srv.Start()
	t.Cleanup(func() { srv.Close(); a.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a.Start(ctx)
	return &harness{app: a, fleet: f, srv: srv, public: public}
}

func (h *harness) send(t *testing.T, d sim.Delivery) (int, string) {
	t.Helper()
	code, body, err := d.Send(t.Context(), h.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return code, string(body)
}

// delivery is the simulators' scripted delivery of kind on channel.
func (h *harness) delivery(t *testing.T, channel, kind string) sim.Delivery {
	t.Helper()
	for _, d := range h.fleet.Deliveries(h.public)[channel] {
		if d.Kind == kind {
			return d
		}
	}
	t.Fatalf("the %s simulator has no %s delivery", channel, kind)
	return sim.Delivery{}
}

// events reads every event record the archive holds, in order.
func (h *harness) events(t *testing.T) []*onrecord.Event {
	t.Helper()
	var out []*onrecord.Event
	for seq := uint64(0); seq < h.app.Archive.Len(); seq++ {
		ev, err := h.app.Archive.Get(seq)
		if err != nil {
			continue // not an event record (holds, disposals)
		}
		out = append(out, ev)
	}
	return out
}

// storesNothing are the deliveries that are acknowledged without a new
// record: handshakes, a retry of what is stored, and typing indicators
// (skipped unless keep_typing is set).
var storesNothing = map[string]bool{"url_verification": true, "retry": true, "typing_started": true, "typing_stopped": true}

// TestEveryDocumentedKindThroughHTTP sends every kind of delivery each
// simulator produces, signed as the provider signs it, to the public
// listener, and checks what the archive then holds.
func TestEveryDocumentedKindThroughHTTP(t *testing.T) {
	h := newHarness(t, fleet.Options{SignalStreamCount: -1})
	for name, ds := range h.fleet.Deliveries(h.public) {
		t.Run(name, func(t *testing.T) {
			for _, d := range ds {
				before := h.app.Archive.Len()
				code, body := h.send(t, d)
				if code != http.StatusOK {
					t.Errorf("%s: HTTP %d %q", d.Kind, code, body)
					continue
				}
				if storesNothing[d.Kind] || d.Kind == "verification" {
					continue
				}
				if h.app.Archive.Len() == before {
					t.Errorf("%s: acknowledged but nothing stored", d.Kind)
				}
			}
		})
	}
	byChannel := map[string][]*onrecord.Event{}
	for _, ev := range h.events(t) {
		byChannel[ev.Channel] = append(byChannel[ev.Channel], ev)
	}
	for _, name := range fleet.Names {
		evs := byChannel[name]
		kinds := map[onrecord.EventKind]int{}
		messages := map[string]bool{}
		for _, ev := range evs {
			kinds[ev.Kind]++
			if ev.Kind == onrecord.KindMessage {
				messages[ev.ProviderID] = true
			}
			if len(ev.Raw) == 0 {
				t.Errorf("%s %s %s: raw payload not kept", name, ev.Kind, ev.ProviderID)
			}
			if ev.Kind == onrecord.KindUnparsed {
				t.Errorf("%s: a documented payload was archived unparsed: %.200s", name, ev.Raw)
			}
		}
		// Every channel's documented set has messages, edits or deletes,
		// and reactions or statuses, all linked to something.
		for _, k := range []onrecord.EventKind{onrecord.KindMessage} {
			if kinds[k] == 0 {
				t.Errorf("%s: no %s events (%v)", name, k, kinds)
			}
		}
		if kinds[onrecord.KindEdit]+kinds[onrecord.KindDelete] == 0 || kinds[onrecord.KindReaction]+kinds[onrecord.KindStatus] == 0 {
			t.Errorf("%s: edits/deletes or reactions/statuses missing: %v", name, kinds)
		}
		linked := 0
		for _, ev := range evs {
			switch ev.Kind {
			case onrecord.KindEdit, onrecord.KindDelete, onrecord.KindReaction, onrecord.KindStatus:
				if ev.Target == "" {
					t.Errorf("%s %s %s: no target", name, ev.Kind, ev.ProviderID)
				}
				if messages[ev.Target] {
					linked++
				}
			}
		}
		if linked == 0 {
			t.Errorf("%s: no edit, delete, reaction or status links to a captured message", name)
		}
		t.Logf("%s: %d events %v, %d linked to captured messages", name, len(evs), kinds, linked)
	}
}

// TestSignatureFailuresStoreNothing sends each channel's first message
// delivery with a wrong secret, a body changed by one byte and the
// signature removed, and a Slack delivery signed six minutes ago.
func TestSignatureFailuresStoreNothing(t *testing.T) {
	h := newHarness(t, fleet.Options{SignalStreamCount: -1})
	other, err := fleet.Start(fleet.Options{SignalStreamCount: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	stale, err := fleet.Start(fleet.Options{SignalStreamCount: -1, Now: func() time.Time { return time.Now().Add(-6 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Close()

	first := func(ds []sim.Delivery) sim.Delivery {
		for _, d := range ds {
			if d.Method == http.MethodPost {
				return d
			}
		}
		t.Fatal("no POST delivery")
		return sim.Delivery{}
	}
	ours := h.fleet.Deliveries(h.public)
	theirs := other.Deliveries(h.public)
	sigHeader := map[string]string{
		fleet.WhatsApp: "X-Hub-Signature-256", fleet.SMS: "X-Twilio-Signature",
		fleet.Telegram: "X-Telegram-Bot-Api-Secret-Token", fleet.Slack: "X-Slack-Signature",
	}
	refused := 0
	for _, name := range fleet.Names {
		good := first(ours[name])
		cases := map[string]sim.Delivery{"wrong secret": first(theirs[name])}
		flipped := good
		flipped.Body = bytes.Clone(good.Body)
		flipped.Body[len(flipped.Body)/2] ^= 0x01
		// Telegram and signal-cli authenticate the sender with a shared
		// token, not a signature over the body; a changed body is
		// indistinguishable from another delivery, by design of those APIs.
		if name != fleet.Telegram && name != fleet.Signal {
			cases["one byte changed"] = flipped
		}
		missing := good
		missing.Header = good.Header.Clone()
		if hdr, ok := sigHeader[name]; ok {
			missing.Header.Del(hdr)
		} else { // signal-cli-rest-api carries the shared token in the URL
			u, _ := url.Parse(good.URL)
			q := u.Query()
			q.Del("token")
			u.RawQuery = q.Encode()
			missing.URL = u.String()
		}
		cases["signature missing"] = missing
		if name == fleet.Slack {
			cases["timestamp six minutes old"] = first(stale.Deliveries(h.public)[fleet.Slack])
		}
		refused += len(cases)
		for what, d := range cases {
			before := h.app.Archive.Len()
			if code, body := h.send(t, d); code != http.StatusUnauthorized {
				t.Errorf("%s, %s: HTTP %d %q, want 401", name, what, code, body)
			}
			if h.app.Archive.Len() != before {
				t.Errorf("%s, %s: something was stored", name, what)
			}
		}
		// The untouched delivery still goes through.
		if code, body := h.send(t, good); code != http.StatusOK {
			t.Errorf("%s: good delivery: HTTP %d %q", name, code, body)
		}
	}
	st := h.app.Gateway.Channels()
	failures := 0
	for _, c := range st {
		failures += int(c.SignatureFailures)
	}
	if failures != refused {
		t.Errorf("signature failures counted: %d, refused %d", failures, refused)
	}
}

// TestReplayStoresOnce replays one delivery per channel 100 times,
// concurrently, as a provider retrying a slow acknowledgement would.
func TestReplayStoresOnce(t *testing.T) {
	h := newHarness(t, fleet.Options{SignalStreamCount: -1})
	for name, ds := range h.fleet.Deliveries(h.public) {
		var d sim.Delivery
		for _, x := range ds {
			if x.Method == http.MethodPost && !storesNothing[x.Kind] && !strings.Contains(x.Kind, "verification") {
				d = x
				break
			}
		}
		before := h.app.Archive.Len()
		if code, body := h.send(t, d); code != http.StatusOK {
			t.Fatalf("%s: HTTP %d %q", name, code, body)
		}
		once := h.app.Archive.Len() - before
		var wg sync.WaitGroup
		for range 99 {
			wg.Go(func() {
				code, _, err := d.Send(context.Background(), h.srv.Client())
				if err != nil || code != http.StatusOK {
					t.Errorf("%s replay: HTTP %d %v", name, code, err)
				}
			})
		}
		wg.Wait()
		if got := h.app.Archive.Len() - before; got != once || once == 0 {
			t.Errorf("%s: 100 deliveries stored %d records, one stores %d", name, got, once)
		}
	}
}

// TestSignalEventStream subscribes to the simulated signal-cli's JSON-RPC
// event stream (rpc_url) and captures what it serves.
func TestSignalEventStream(t *testing.T) {
	h := newHarness(t, fleet.Options{SignalStream: true, SignalStreamCount: 25})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n := 0
		for _, ev := range h.events(t) {
			if ev.Channel == fleet.Signal {
				n++
				if len(ev.Raw) == 0 || ev.Kind == onrecord.KindUnparsed {
					t.Fatalf("stream event %s %s: raw %d bytes", ev.Kind, ev.ProviderID, len(ev.Raw))
				}
			}
		}
		if n >= 25 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("stream events captured: %v", h.app.Gateway.Channels())
}

// TestOutboundThroughEverySimulator sends one message per channel through
// POST /api/v1/messages: it is recorded first, then sent through the
// provider's API, and the provider's id is recorded linked to it.
func TestOutboundThroughEverySimulator(t *testing.T) {
	h := newHarnessWithToken(t, "test-token-0123456789abcdef")
	to := map[string]string{
		fleet.WhatsApp: "4915112345678", fleet.SMS: "+14155550142", fleet.Telegram: "-1001987654321",
		fleet.Slack: "C0WEALTH01", fleet.Signal: "+15550111",
	}
	for _, name := range fleet.Names {
		body := `{"channel":"` + name + `","to":"` + to[name] + `","body":"Confirmed: the wire went out at 10:02."}`
		req, _ := http.NewRequest(http.MethodPost, h.public+"/api/v1/messages", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer test-token-0123456789abcdef")
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			ID                string `json:"id"`
			ProviderMessageID string `json:"provider_message_id"`
			Error             string `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || out.ProviderMessageID == "" {
			t.Errorf("%s: HTTP %d %+v", name, resp.StatusCode, out)
			continue
		}
		var msg, st *onrecord.Event
		for _, ev := range h.events(t) {
			if ev.ProviderID == out.ID {
				msg = ev
			}
			if ev.Kind == onrecord.KindStatus && ev.Target == out.ID {
				st = ev
			}
		}
		if msg == nil || msg.Direction != onrecord.Outbound || msg.Body == "" {
			t.Errorf("%s: outbound message not recorded: %+v", name, msg)
		}
		if st == nil || st.Meta["provider_message_id"] != out.ProviderMessageID {
			t.Errorf("%s: provider id not recorded against the message: %+v", name, st)
		}
	}
	if n := len(h.fleet.WhatsApp.Sent()) + len(h.fleet.Twilio.Sent()) + len(h.fleet.Telegram.Sent()) + len(h.fleet.Slack.Sent()) + len(h.fleet.Signal.Sent()); n != len(fleet.Names) {
		t.Errorf("providers received %d messages, want %d", n, len(fleet.Names))
	}
	// Without the token nothing is sent.
	resp, err := h.srv.Client().Post(h.public+"/api/v1/messages", "application/json", strings.NewReader(`{"channel":"sms","to":"+1","body":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: HTTP %d", resp.StatusCode)
	}
}

// TestWorkloadCarriesWhatPoliciesFlag checks that the simulators' traffic,
// which `onrecord demo` shows, includes messages the starter policies flag.
func TestWorkloadCarriesWhatPoliciesFlag(t *testing.T) {
	h := newHarness(t, fleet.Options{SignalStreamCount: -1})
	for _, d := range h.fleet.Workload(h.public, 11, 600) {
		if code, body := h.send(t, d); code != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", d.Kind, code, body)
		}
	}
	set, err := policy.Compile(starter.Files())
	if err != nil {
		t.Fatal(err)
	}
	byPolicy := map[string]int{}
	for _, ev := range h.events(t) {
		if ev.Kind != onrecord.KindMessage || ev.Body == "" {
			continue
		}
		d, err := set.Evaluate(t.Context(), policy.Input{Event: ev})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range d.Matches {
			byPolicy[m.Policy]++
		}
	}
	if len(byPolicy) < 4 {
		t.Fatalf("starter policies fired on the workload: %v", byPolicy)
	}
	t.Logf("policy matches in 600 deliveries: %v", byPolicy)
}

// TestJournalMetrics: /metrics reports every journal fsync, and the
// records they committed add up to what the archive holds.
func TestJournalMetrics(t *testing.T) {
	h := newHarness(t, fleet.Options{SignalStreamCount: -1})
	for _, ds := range h.fleet.Deliveries(h.public) {
		for _, d := range ds[:min(3, len(ds))] {
			h.send(t, d)
		}
	}
	rec := httptest.NewRecorder()
	h.app.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	metrics := map[string]float64{}
	for line := range strings.Lines(rec.Body.String()) {
		if f := strings.Fields(line); len(f) == 2 && !strings.HasPrefix(line, "#") {
			v, _ := strconv.ParseFloat(f[1], 64)
			metrics[f[0]] = v
		}
	}
	stored := float64(h.app.Archive.Len())
	if got := metrics["onrecord_journal_batch_records_sum"]; got != stored || stored == 0 {
		t.Errorf("journal batches committed %v records; the archive holds %v", got, stored)
	}
	if n := metrics["onrecord_journal_fsync_seconds_count"]; n < 1 || n > stored {
		t.Errorf("%v journal fsyncs for %v records", n, stored)
	}
}

// TestPublicHandler_HeadersKeepAnswersOutOfCaches: API answers (messages,
// names) are never stored by a proxy or browser cache; the public log
// keeps its own caching; HSTS is sent when onrecord is reached over HTTPS,
// directly or through the operator's TLS proxy, and only then.
func TestPublicHandler_HeadersKeepAnswersOutOfCaches(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tls, hsts bool
	}{
		{"plain HTTP on loopback", false, false},
		{"behind a TLS proxy", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.DataDir = filepath.Join(t.TempDir(), "data")
			cfg.ExportDir = filepath.Join(t.TempDir(), "exports")
			cfg.APITokens = []string{testAPIToken}
			cfg.BehindTLSProxy = tc.tls
			srv := httptest.NewUnstartedServer(nil)
			serveTestApp(t, srv, cfg)
			for _, c := range []struct {
				path, cache string
			}{
				{"/api/v1/search?q=anything", "no-store"},
				{"/api/v1/conversations/c1", "no-store"},
				{"/api/v1/channels", "no-store"},
				{"/nothing-here", "no-store"},
				{"/log/checkpoint", "no-cache"},
			} {
				var out any
				resp := apiCall(t, srv, "GET", c.path, "", &out)
				if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, c.cache) || (c.cache != "no-store" && strings.Contains(got, "no-store")) {
					t.Errorf("%s: Cache-Control %q, want %q", c.path, got, c.cache)
				}
				if got := resp.Header.Get("Strict-Transport-Security"); (got != "") != tc.hsts {
					t.Errorf("%s: Strict-Transport-Security %q", c.path, got)
				}
				if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("%s: no nosniff", c.path)
				}
			}
		})
	}
}
