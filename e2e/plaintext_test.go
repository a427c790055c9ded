package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onrecord/onrecord/internal/canary"
	"github.com/onrecord/onrecord/internal/sim/fleet"
	whatsappsim "github.com/onrecord/onrecord/internal/sim/whatsapp"
)

// TestCapture_NoPlaintextAnywhere is the canary scan of the whole product
// (the TeleMessage archive kept cleartext copies): serve captures, from all
// five simulated providers, messages whose text, attachment name, caption
// and attachment content each carry a unique random marker, and a signed
// delivery it cannot read (archived raw, logged as an ALERT); it sends one
// through the API, and a reviewer searches for two; then, after a graceful
// stop, every byte serve wrote — the data directory, its temporary
// directory, and what it logged — is scanned for every marker as UTF-8,
// UTF-16, hex and base64 at each alignment, and so is every credential
// serve was given (the channels' secrets, the API token). The markers must
// be found only where they are meant to be: in the search API's answer.
func TestCapture_NoPlaintextAnywhere(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	f, public, cfgFile, env := fleetServe(t, dir, map[string]any{"api_tokens": []string{"env:E2E_API_TOKEN"}})
	token := randomMarker()
	env = append(env, "E2E_API_TOKEN="+token, "TMPDIR="+tmp)
	s := startServe(t, dir, env, "--config", cfgFile)

	markers := map[string]string{} // marker → where it went
	mark := func(where string) string {
		m := randomMarker()
		markers[m] = where
		return m
	}
	client := &http.Client{Timeout: 30 * time.Second}
	from := map[string]string{fleet.WhatsApp: "4915112345678", fleet.SMS: "+4915112345678", fleet.Telegram: "5512345678",
		fleet.Slack: "U0CLIENT42", fleet.Signal: "+4915112345678"}
	var searchFor string
	for _, name := range fleet.Names {
		m := mark(name + " text")
		if name == fleet.WhatsApp {
			searchFor = m
		}
		d := f.Text(public, name, from[name], "Please wire the funds today, reference "+m)
		if code, body, err := d.Send(t.Context(), client); err != nil || code != http.StatusOK {
			t.Fatalf("%s text: %d %v %s", name, code, err, body)
		}
	}
	fileName := mark("attachment name")
	doc := f.WhatsApp.Document(fleet.HookURL(public, fleet.WhatsApp), from[fleet.WhatsApp], "statement-"+fileName+".pdf",
		"my statement "+mark("caption"), "application/pdf", []byte("%PDF-1.7\n% "+mark("attachment content")+"\n%%EOF\n"))
	if code, body, err := doc.Send(t.Context(), client); err != nil || code != http.StatusOK {
		t.Fatalf("document: %d %v %s", code, err, body)
	}
	// A signed delivery onrecord cannot read is archived raw and logged as
	// an ALERT: the log line must not carry what it could not read.
	raw := []byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"text":{"body":"` +
		mark("unparsable delivery") + ` and then the body breaks off`)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, fleet.HookURL(public, fleet.WhatsApp), bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", whatsappsim.Sign(f.WhatsApp.Options().AppSecret, raw))
	if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("unparsable delivery: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	api := func(method, path string, body any) []byte {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(t.Context(), method, public+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return b
	}
	api("POST", "/api/v1/messages", map[string]any{"channel": fleet.Slack, "to": "C0WEALTH01", "body": "Confirmed, " + mark("outbound body")})
	// The reviewer's search: its answer is the one place a marker may be
	// read, and proves the markers were captured at all.
	for _, q := range []string{searchFor, fileName} {
		if ans := api("GET", "/api/v1/search?q="+url.QueryEscape(q), nil); !bytes.Contains(ans, []byte(q)) {
			t.Errorf("search for %s (%s) does not find it: %s", q, markers[q], ans)
		}
	}

	s.stop(t, syscall.SIGTERM)
	logs := s.output()
	if !strings.Contains(logs, "final checkpoint signed") || !strings.Contains(logs, "ALERT unparsed") {
		t.Fatalf("serve did not log the unparsed delivery or did not stop cleanly:\n%s", logs)
	}
	// The credentials serve was given must not be written anywhere either.
	for _, kv := range env {
		name, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "ONRECORD_") && name != "TMPDIR" && len(v) >= 16 {
			markers[v] = "credential " + name
		}
	}
	var all []string
	for m := range markers {
		all = append(all, m)
	}
	found := canary.Find("serve's output", []byte(logs), all)
	var files int
	var size int64
	for _, root := range []string{filepath.Join(dir, "onrecord-data"), tmp} {
		inRoot, n, sz, err := canary.ScanDir(root, all)
		if err != nil {
			t.Fatal(err)
		}
		found, files, size = append(found, inRoot...), files+n, size+sz
	}
	if files < 10 || size < 1<<20 {
		t.Fatalf("scanned %d files, %d bytes: the data directory is not where serve wrote", files, size)
	}
	for _, leak := range found {
		for m, where := range markers {
			if strings.Contains(leak, m) {
				t.Errorf("%s: the marker of the %s", leak, where)
			}
		}
	}
	t.Logf("%d markers, %d files, %d bytes scanned, and the log output", len(markers), files, size)
}

// randomMarker is a word no one would write: 33 lower-case letters and
// digits.
func randomMarker() string {
	b := make([]byte, 15)
	rand.Read(b)
	return "zqx" + hex.EncodeToString(b)
}
