package signal

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	json "github.com/go-json-experiment/json/v1"
	"pgregory.net/rapid"

	"github.com/onrecord/onrecord/internal/connector"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"jsonrpc":"2.0","method":"receive","params":{"subscription":1,"result":[{"envelope":{"sourceUuid":"u","timestamp":1}}]}}`))
	f.Add([]byte(`{"envelope":{"sourceUuid":"u","timestamp":1,"receiptMessage":{"timestamps":[1,1,2]}}}`))
	f.Add([]byte(`{"envelope":{"sourceUuid":"u","timestamp":1,"dataMessage":{"message":"\ufffc\ufffc","mentions":[{"start":9},{}]}}}`))
	plain := mustNew(f, connector.Config{})
	typing := mustNew(f, connector.Config{KeepTyping: true})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, c := range []*Connector{plain, typing} {
			evs, err := c.Parse(streamReq(body))
			if err != nil {
				continue
			}
			checkValid(t, evs)
		}
	})
}

// FuzzAuthenticate drives the push-token and remote-address parsing with
// arbitrary header values, query strings and addresses; only the exact
// token or a loopback peer may pass.
func FuzzAuthenticate(f *testing.F) {
	f.Add("Bearer tok", "", "token=tok", "127.0.0.1:1", "POST")
	f.Add("bearer  tok ", "tok", "", "[::1]:2", "POST")
	f.Add("", "", "token=%zz", "[::ffff:127.0.0.1]:3", "STREAM")
	f.Add("Basic dG9r", "x", "token=tok&token=x", "signal-cli", "STREAM")
	f.Fuzz(func(t *testing.T, authz, xtoken, query, remote, method string) {
		u := &url.URL{Path: "/hooks/sig", RawQuery: query}
		h := http.Header{}
		h["Authorization"] = []string{authz}
		h["X-Onrecord-Token"] = []string{xtoken}
		req := &connector.Request{Method: method, URL: u, Header: h, RemoteAddr: remote, Body: []byte("{}")}
		for _, tok := range []string{"tok", ""} {
			c := mustNew(t, connector.Config{PushToken: tok})
			err := c.Authenticate(req)
			if err != nil {
				if !errors.Is(err, connector.ErrSignature) {
					t.Fatalf("failure does not wrap ErrSignature: %v", err)
				}
				continue
			}
			if method == StreamMethod && remote == StreamRemoteAddr {
				continue
			}
			if tok == "" && !loopback(remote) {
				t.Fatalf("non-loopback %q accepted without a token", remote)
			}
			if got, _ := pushToken(req); tok != "" && got != tok {
				t.Fatalf("accepted with token %q", got)
			}
		}
	})
}

// TestProperty_AuthenticatedBodiesParseOrFail builds random envelopes from
// signal-cli's parts and checks that each either parses into valid events
// or returns an error — never panics, never an invalid event.
func TestProperty_AuthenticatedBodiesParseOrFail(t *testing.T) {
	c := mustNew(t, connector.Config{KeepTyping: true})
	rapid.Check(t, func(rt *rapid.T) {
		id := rapid.SampledFrom([]string{"", "+15550111", testAccount, marcus, " "})
		ts := rapid.SampledFrom([]int64{0, -1, 1, 1772460000123, maxMillis, maxMillis + 1})
		opt := func(name string, v any) map[string]any {
			if rapid.Bool().Draw(rt, name) {
				return map[string]any{name: v}
			}
			return nil
		}
		dm := map[string]any{"timestamp": ts.Draw(rt, "dts"), "message": rapid.SampledFrom([]any{nil, "", "hi \ufffc", "x"}).Draw(rt, "msg"),
			"expiresInSeconds": rapid.IntRange(-5, 1<<20).Draw(rt, "exp")}
		for _, m := range []map[string]any{
			opt("reaction", map[string]any{"emoji": "👍", "targetAuthorUuid": id.Draw(rt, "ta"), "targetSentTimestamp": ts.Draw(rt, "tt"), "isRemove": rapid.Bool().Draw(rt, "rm")}),
			opt("remoteDelete", map[string]any{"timestamp": ts.Draw(rt, "rdt")}),
			opt("quote", map[string]any{"id": ts.Draw(rt, "qid"), "authorUuid": id.Draw(rt, "qa")}),
			opt("attachments", []any{map[string]any{"id": id.Draw(rt, "aid"), "contentType": "image/png", "size": -3}}),
			opt("groupInfo", map[string]any{"groupId": id.Draw(rt, "gid"), "type": rapid.SampledFrom([]string{"DELIVER", "UPDATE"}).Draw(rt, "gt")}),
			opt("mentions", []any{map[string]any{"start": rapid.IntRange(-2, 5).Draw(rt, "ms")}}),
			opt("isExpirationUpdate", rapid.Bool().Draw(rt, "eu")),
			opt("pollVote", map[string]any{"authorUuid": id.Draw(rt, "pa"), "targetSentTimestamp": ts.Draw(rt, "pt")}),
			opt("pinMessage", map[string]any{"targetAuthorUuid": id.Draw(rt, "pin"), "targetSentTimestamp": ts.Draw(rt, "pint")}),
		} {
			for k, v := range m {
				dm[k] = v
			}
		}
		env := map[string]any{"sourceUuid": id.Draw(rt, "src"), "sourceNumber": id.Draw(rt, "num"), "timestamp": ts.Draw(rt, "ets")}
		switch rapid.IntRange(0, 8).Draw(rt, "content") {
		case 0:
			env["dataMessage"] = dm
		case 1:
			env["editMessage"] = map[string]any{"targetSentTimestamp": ts.Draw(rt, "et"), "dataMessage": dm}
		case 2:
			sent := map[string]any{"destinationUuid": id.Draw(rt, "dest")}
			for k, v := range dm {
				sent[k] = v
			}
			env["syncMessage"] = map[string]any{"sentMessage": sent, "readMessages": []any{map[string]any{"senderUuid": id.Draw(rt, "rs"), "timestamp": ts.Draw(rt, "rt")}}}
		case 3:
			env["receiptMessage"] = map[string]any{"when": ts.Draw(rt, "w"), "isRead": true, "timestamps": []int64{ts.Draw(rt, "r1"), ts.Draw(rt, "r2")}}
		case 4:
			env["typingMessage"] = map[string]any{"action": rapid.SampledFrom([]string{"STARTED", "", " "}).Draw(rt, "act"), "timestamp": ts.Draw(rt, "tyts")}
		case 5:
			env["callMessage"] = map[string]any{"iceUpdateMessages": []any{map[string]any{"id": 1}}}
		case 6:
			env["storyMessage"] = map[string]any{"fileAttachment": map[string]any{"id": id.Draw(rt, "sf")}}
		case 7:
			env["syncMessage"] = map[string]any{"type": "GROUPS_SYNC"}
		}
		payload := map[string]any{"envelope": env, "account": id.Draw(rt, "acct")}
		if rapid.Bool().Draw(rt, "exc") {
			payload["exception"] = map[string]any{"message": "m", "type": "T"}
		}
		var body any = payload
		if rapid.Bool().Draw(rt, "rpc") {
			body = map[string]any{"jsonrpc": "2.0", "method": "receive", "params": payload}
		}
		b, err := json.Marshal(body)
		if err != nil {
			rt.Fatal(err)
		}
		req := streamReq(b)
		if err := c.Authenticate(req); err != nil {
			rt.Fatal(err)
		}
		evs, err := c.Parse(req)
		if err != nil {
			return
		}
		for i := range evs {
			ev := evs[i].Event
			ev.Channel, ev.Raw = "sig", b
			if err := ev.Validate(); err != nil {
				rt.Fatalf("event %d invalid: %v\n%s", i, err, b)
			}
		}
	})
}
