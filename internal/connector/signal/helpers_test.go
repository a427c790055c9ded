package signal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord/internal/connector"
)

const (
	testAccount = "+15550100"
	testSelf    = "5f3c9a1e-2b7d-4c8e-9f10-6a2b3c4d5e01"
	marcus      = "8d2f4b6a-1c3e-4f5a-9b7c-2e4d6f8a0b11"
	elena       = "1a3c5e7f-9b2d-4f6a-8c0e-4d6f8a0b2c33"
	chenGroup   = "Pmpi+EfPWmsxiomLe9Nx2XF9HOE483p6iKiFj65iMwI="
)

func mustNew(tb testing.TB, cfg connector.Config) *Connector {
	tb.Helper()
	if cfg.Name == "" {
		cfg.Name = "sig"
	}
	if cfg.Account == "" {
		cfg.Account = testAccount
	}
	c, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func streamReq(body []byte) *connector.Request {
	return &connector.Request{Method: StreamMethod, RemoteAddr: StreamRemoteAddr, Body: body,
		ReceivedAt: time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)}
}

// checkValid fails unless every event passes the archive's validation once
// the gateway has filled its fields.
func checkValid(tb testing.TB, evs []connector.Event) {
	tb.Helper()
	for i := range evs {
		ev := evs[i].Event
		ev.Channel = "sig"
		ev.Raw = []byte("{}")
		if err := ev.Validate(); err != nil {
			tb.Errorf("event %d (%s %s) invalid: %v", i, ev.Kind, ev.ProviderID, err)
		}
		if ev.Channel != "sig" || evs[i].Channel != "" || evs[i].Raw != nil || !evs[i].CapturedAt.IsZero() {
			tb.Errorf("event %d: connector filled a gateway field", i)
		}
	}
}

func refs(m []connector.MediaRef) string {
	var s []string
	for _, r := range m {
		s = append(s, r.Ref+"|"+r.Name+"|"+r.ContentType)
	}
	return strings.Join(s, ",")
}
