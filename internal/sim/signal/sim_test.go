package signalsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler_RPCRefusesWhatSignalCLIRefuses(t *testing.T) {
	s := New(Options{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	tests := []struct {
		name, ct, body string
		status         int
		errCode        int
	}{
		{"wrong content type", "text/plain", `{}`, http.StatusUnsupportedMediaType, 0},
		{"parse error", "application/json", `{`, 200, -32700},
		{"no method", "application/json", `{"jsonrpc":"2.0","id":1}`, 200, -32600},
		{"unknown method", "application/json", `{"jsonrpc":"2.0","method":"listGroups","id":1}`, 200, -32601},
		{"other account", "application/json", `{"jsonrpc":"2.0","method":"send","params":{"account":"+1999","recipient":["+15550111"]},"id":1}`, 200, -32602},
		{"send without recipient", "application/json", `{"jsonrpc":"2.0","method":"send","params":{"message":"x"},"id":1}`, 200, -1},
		{"unknown attachment", "application/json", `{"jsonrpc":"2.0","method":"getAttachment","params":{"id":"x.jpg"},"id":1}`, 200, -3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+"/api/v1/rpc", tt.ct, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.errCode == 0 {
				return
			}
			var r struct {
				Error struct{ Code int } `json:"error"`
			}
			b, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(b, &r); err != nil || r.Error.Code != tt.errCode {
				t.Fatalf("response %s, want error %d", b, tt.errCode)
			}
		})
	}
	if len(s.Sent()) != 0 {
		t.Errorf("refused sends were recorded: %+v", s.Sent())
	}
}

func TestHandler_EventsRefusesOtherAccount(t *testing.T) {
	srv := httptest.NewServer(New(Options{}).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/events?account=%2B19999")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestDeliveries_CarryTokenAndValidJSON(t *testing.T) {
	s := New(Options{PushToken: "t&k"})
	for _, d := range s.Deliveries("http://gw.example/hooks/sig?x=1") {
		if !strings.Contains(d.URL, "token=t%26k") || !strings.Contains(d.URL, "x=1") {
			t.Fatalf("%s: URL %s", d.Kind, d.URL)
		}
		if !json.Valid(d.Body) || d.Header.Get("Content-Type") != "application/json" || d.Method != http.MethodPost {
			t.Fatalf("%s: bad delivery", d.Kind)
		}
	}
}
