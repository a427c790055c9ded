package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/onrecord/onrecord/internal/sim/fleet"
)

// TestCapture_NoPlaintextAnywhere is the canary scan of the whole product
// (the TeleMessage archive kept cleartext copies): serve captures, from all
// five simulated providers, messages whose text, attachment name, caption
// and attachment content each carry a unique random marker, sends one
// through the API, and a reviewer searches for one; then, after a graceful
// stop, every byte serve wrote — the data directory, its temporary
// directory, and what it logged — is scanned for every marker as UTF-8,
// UTF-16, hex and base64 at each alignment. The markers must be found only
// where they are meant to be: in the search API's answer.
func TestCapture_NoPlaintextAnywhere(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := fleet.Start(fleet.Options{SignalStreamCount: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pub, adm := freePort(t), freePort(t)
	public := "http://" + pub
	token := randomMarker()
	cfgFile, env := fleetConfig(t, dir, f, public, map[string]any{"api_tokens": []string{"env:E2E_API_TOKEN"}})
	env = append(env, "ONRECORD_LISTEN="+pub, "ONRECORD_ADMIN_LISTEN="+adm, "E2E_API_TOKEN="+token, "TMPDIR="+tmp)
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
	if !strings.Contains(logs, "final checkpoint signed") {
		t.Fatalf("serve did not stop cleanly:\n%s", logs)
	}
	written := map[string][]byte{"serve's output": []byte(logs)}
	scanned := 0
	for _, root := range []string{filepath.Join(dir, "onrecord-data"), tmp} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			written[p] = b
			scanned += len(b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if scanned < 1<<10 {
		t.Fatalf("scanned %d bytes: the data directory is not where serve wrote", scanned)
	}
	for m, where := range markers {
		forms := markerForms(m)
		for name, b := range written {
			for form, needle := range forms {
				if bytes.Contains(b, needle) {
					t.Errorf("the %s marker is in %s as %s", where, name, form)
				}
			}
		}
	}
	t.Logf("%d markers, %d files, %d bytes scanned", len(markers), len(written), scanned)

	// The scan itself finds a marker in each form it looks for.
	probe := randomMarker()
	for _, enc := range [][]byte{utf16LE(probe), []byte(strings.ToUpper(hex.EncodeToString([]byte(probe)))),
		[]byte(base64.StdEncoding.EncodeToString([]byte("x" + probe + "tail"))), []byte(base64.RawURLEncoding.EncodeToString([]byte("xy" + probe)))} {
		found := false
		for _, needle := range markerForms(probe) {
			found = found || bytes.Contains(enc, needle)
		}
		if !found {
			t.Errorf("the scan misses the marker in %q", enc)
		}
	}
}

// randomMarker is a word no one would write: 33 lower-case letters and
// digits.
func randomMarker() string {
	b := make([]byte, 15)
	rand.Read(b)
	return "zqx" + hex.EncodeToString(b)
}

func utf16LE(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// markerForms are the byte strings whose presence means m was written in
// a readable or trivially decodable form: as is, UTF-16 (either byte
// order), hex (either case), and base64 (standard and URL alphabets) at
// each of the three alignments m can have in the encoded data, without
// the characters that depend on the neighbouring bytes.
func markerForms(m string) map[string][]byte {
	forms := map[string][]byte{"text": []byte(m), "UTF-16LE": utf16LE(m), "hex": []byte(hex.EncodeToString([]byte(m))),
		"HEX": []byte(strings.ToUpper(hex.EncodeToString([]byte(m))))}
	be := utf16LE(m)
	for i := 0; i+1 < len(be); i += 2 {
		be[i], be[i+1] = be[i+1], be[i]
	}
	forms["UTF-16BE"] = be
	for k := range 3 {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, k), m...))
		// Skip the group holding the k leading bytes, and the last group,
		// which holds padding or the next bytes' bits.
		start := 0
		if k > 0 {
			start = 4
		}
		core := enc[start : len(enc)-4]
		forms[fmt.Sprintf("base64 (offset %d)", k)] = []byte(core)
		forms[fmt.Sprintf("base64url (offset %d)", k)] = []byte(strings.NewReplacer("+", "-", "/", "_").Replace(core))
	}
	return forms
}
