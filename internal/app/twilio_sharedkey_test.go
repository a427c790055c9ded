package app

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/onrecord/onrecord/internal/config"
	twiliosim "github.com/onrecord/onrecord/internal/sim/twilio"
)

// TestTwilioSharedKey_DeliveriesAreStoredThroughTheGateway: a Twilio
// account whose Webhook Rule signs with a SharedKey (HMAC-SHA256) has every
// delivery accepted over HTTP and stored when the channel has the key in
// shared_keys, and every one refused, nothing stored, when it does not.
func TestTwilioSharedKey_DeliveriesAreStoredThroughTheGateway(t *testing.T) {
	for _, tc := range []struct {
		name   string
		keys   []string
		status int
	}{
		{"with the key", []string{"sk-secret-9c2f71e04b8d4a6f93e1"}, 200},
		{"without it", nil, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := twiliosim.New(twiliosim.Options{SharedKey: "sk-secret-9c2f71e04b8d4a6f93e1"})
			sims := httptest.NewServer(s.Handler())
			defer sims.Close()
			s.SetBaseURL(sims.URL)
			srv := httptest.NewUnstartedServer(nil)
			public := "http://" + srv.Listener.Addr().String()
			cc := s.ChannelConfig("sms", public)
			cfg := config.Default()
			cfg.DataDir = filepath.Join(t.TempDir(), "data")
			cfg.ExportDir = filepath.Join(t.TempDir(), "exports")
			cfg.PublicURL = public
			cfg.Channels = []config.Channel{{Name: "sms", Type: "twilio", APIBaseURL: cc.APIBaseURL,
				AuthToken: cc.AuthToken, AccountSID: cc.AccountSID, From: cc.From, SharedKeys: tc.keys}}
			a := serveTestApp(t, srv, cfg)
			before := a.Archive.Len()
			ds := s.Deliveries(public + "/hooks/sms")
			for _, d := range ds {
				req, _ := http.NewRequest(d.Method, d.URL, bytes.NewReader(d.Body))
				req.Header = d.Header.Clone()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Errorf("%s: %d, want %d", d.Kind, resp.StatusCode, tc.status)
				}
			}
			stored := a.Archive.Len() - before
			if (tc.status == 200) != (stored >= uint64(len(ds))) || (tc.status != 200 && stored != 0) {
				t.Errorf("%d records stored from %d deliveries answered %d", stored, len(ds), tc.status)
			}
		})
	}
}
