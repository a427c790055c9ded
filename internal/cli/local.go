package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onrecord/onrecord/internal/app"
	"github.com/onrecord/onrecord/internal/config"
)

// localServer is a running onrecord serve on this machine, reached on its
// admin listener with the token it left in the data directory.
type localServer struct {
	base, token string
	client      *http.Client
}

// server returns the running server of cfg's data directory, or nil when
// none answers (then the command opens the data directory itself).
func (m *Main) server(ctx context.Context, cfg config.Config) *localServer {
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, app.LocalTokenFile))
	if err != nil {
		return nil
	}
	host, port, err := net.SplitHostPort(cfg.AdminListen)
	if err != nil {
		return nil
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	s := &localServer{base: "http://" + net.JoinHostPort(host, port), token: strings.TrimSpace(string(b)),
		client: &http.Client{Timeout: 5 * time.Minute}}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var st app.Status
	if _, err := s.call(ctx, "GET", "/local/v1/status", nil, &st); err != nil {
		return nil // a token left by a server that is gone
	}
	return s
}

// call sends a JSON request and decodes the JSON answer into out. A non-2xx
// answer is an error carrying the server's message, with its status.
func (s *localServer) call(ctx context.Context, method, path string, in, out any) (int, error) {
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			return 0, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, &body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Onrecord-User", whoami())
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("ask the running server: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		return resp.StatusCode, errors.New(e.Error)
	}
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
}

// status shows the archive's state: from the running server when there is
// one, else from the data directory.
func (m *Main) status(ctx context.Context, args []string) int {
	fs, load := m.flags("status", "[--json]")
	asJSON := fs.Bool("json", false, "print as JSON")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	var st app.Status
	source := "data directory (no server running)"
	if srv := m.server(ctx, cfg); srv != nil {
		if _, err := srv.call(ctx, "GET", "/local/v1/status", nil, &st); err != nil {
			return m.fail(err)
		}
		source = "running server"
	} else {
		a, err := app.Open(ctx, app.Options{Config: cfg, Logger: m.logger(cfg), Warn: m.Stderr})
		if err != nil {
			return m.fail(err)
		}
		defer a.Close()
		if st, err = a.Status(ctx); err != nil {
			return m.fail(err)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(st)
		return ExitOK
	}
	fmt.Fprintf(m.Stdout, "source:        %s\nrecords:       %d\nlog size:      %d\nindexed up to: %d (lag %d records)\nchannels:      %d\nmedia backlog: %d\nintake backlog: %d\n",
		source, st.Records, st.LogSize, st.IndexedUpTo, st.IndexLag, st.Channels, st.MediaBacklog, st.IntakeBacklog)
	var tokens []string
	for _, t := range st.APITokens {
		switch {
		case t.Expired:
			tokens = append(tokens, t.Name+" (expired "+t.Expires.Format(time.DateOnly)+")")
		case !t.Expires.IsZero():
			tokens = append(tokens, t.Name+" (expires "+t.Expires.Format(time.DateOnly)+")")
		default:
			tokens = append(tokens, t.Name)
		}
	}
	if len(tokens) == 0 {
		tokens = []string{"none (the API refuses every call)"}
	}
	fmt.Fprintf(m.Stdout, "api tokens:    %s\n", strings.Join(tokens, ", "))
	return ExitOK
}
