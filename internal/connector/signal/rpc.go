package signal

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord/internal/connector"
)

// maxRPCResponse bounds a JSON-RPC answer read into memory. The gateway's
// client bounds media too; this guards a misbehaving daemon on Send.
const maxRPCResponse = 512 << 20

// RPCError is an error object in a JSON-RPC response from signal-cli.
type RPCError struct {
	Method  string
	Code    int
	Message string
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("signal-cli %s: error %d: %s", e.Method, e.Code, e.Message)
}

// call makes one JSON-RPC request to the daemon's POST /api/v1/rpc and
// decodes its result into out.
func (c *Connector) call(ctx context.Context, client *http.Client, method string, params, out any) error {
	id := c.rpcID.Add(1)
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params, "id": id})
	if err != nil {
		return fmt.Errorf("signal-cli %s: encode request: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.rpcURL+"/api/v1/rpc", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("signal-cli %s: %w", method, err)
	}
	// signal-cli answers 415 to anything else.
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("signal-cli %s: %w", method, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("signal-cli %s: HTTP %d from the daemon", method, resp.StatusCode)
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		ID json.RawMessage `json:"id"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxRPCResponse)).Decode(&r); err != nil {
		return fmt.Errorf("signal-cli %s: read response: %w", method, err)
	}
	if r.Error != nil {
		return &RPCError{Method: method, Code: r.Error.Code, Message: r.Error.Message}
	}
	if !present(r.Result) {
		return fmt.Errorf("signal-cli %s: response has no result", method)
	}
	if err := json.Unmarshal(r.Result, out); err != nil {
		return fmt.Errorf("signal-cli %s: read result: %w", method, err)
	}
	return nil
}

// Fetch downloads an attachment signal-cli has stored, by its id, with
// JSON-RPC getAttachment (the daemon answers it base64-encoded). signal-cli
// does not say the type; m.ContentType (from the envelope) is used, else it
// is sniffed.
func (c *Connector) Fetch(ctx context.Context, client *http.Client, m connector.MediaRef) (io.ReadCloser, string, error) {
	if strings.TrimSpace(m.Ref) == "" {
		return nil, "", errors.New("fetch signal attachment: no attachment id")
	}
	var res struct {
		Data *string `json:"data"`
	}
	if err := c.call(ctx, client, "getAttachment", map[string]string{"id": m.Ref, "account": c.account}, &res); err != nil {
		return nil, "", fmt.Errorf("fetch signal attachment %q: %w", m.Ref, err)
	}
	if res.Data == nil {
		return nil, "", fmt.Errorf("fetch signal attachment %q: result has no data", m.Ref)
	}
	data, err := base64.StdEncoding.DecodeString(*res.Data)
	if err != nil {
		return nil, "", fmt.Errorf("fetch signal attachment %q: decode base64: %w", m.Ref, err)
	}
	ct := m.ContentType
	if ct == "" {
		ct = http.DetectContentType(data)
	}
	return io.NopCloser(bytes.NewReader(data)), ct, nil
}

// GroupPrefix marks Outbound.To as a group id ("group:<base64 id>"). A
// bare base64 string that decodes to 32 bytes (a GV2 group id) is taken as
// a group too; anything else is a recipient (number, uuid or username).
const GroupPrefix = "group:"

// Send sends a message with JSON-RPC send and returns its provider id,
// "<account>:<timestamp>", the id a sync transcript of it would have.
// Attachments travel as data URIs, which signal-cli accepts in place of
// file paths.
func (c *Connector) Send(ctx context.Context, client *http.Client, msg connector.Outbound) (string, error) {
	to := strings.TrimSpace(msg.To)
	if to == "" {
		return "", errors.New("send signal message: no recipient")
	}
	params := map[string]any{"account": c.account, "message": msg.Body}
	if g, ok := groupID(to); ok {
		params["groupId"] = g
	} else {
		params["recipient"] = []string{to}
	}
	if len(msg.Attachments) > 0 {
		uris := make([]string, 0, len(msg.Attachments))
		for _, a := range msg.Attachments {
			uris = append(uris, dataURI(a.ContentType, a.Name, a.Data))
		}
		params["attachments"] = uris
	}
	var res struct {
		Timestamp int64 `json:"timestamp"`
		Results   []struct {
			Type string `json:"type"`
		} `json:"results"`
	}
	if err := c.call(ctx, client, "send", params, &res); err != nil {
		return "", fmt.Errorf("send signal message: %w", err)
	}
	if res.Timestamp <= 0 {
		return "", errors.New("send signal message: result has no timestamp")
	}
	if len(res.Results) > 0 {
		var failed []string
		for _, r := range res.Results {
			if r.Type != "SUCCESS" {
				failed = append(failed, r.Type)
			}
		}
		if len(failed) == len(res.Results) {
			return "", fmt.Errorf("send signal message: not delivered to any recipient (%s)", strings.Join(failed, ", "))
		}
	}
	return c.account + ":" + itoa(res.Timestamp), nil
}

func groupID(to string) (string, bool) {
	if g, ok := strings.CutPrefix(to, GroupPrefix); ok {
		return g, g != ""
	}
	if strings.HasPrefix(to, "+") {
		return "", false
	}
	if b, err := base64.StdEncoding.DecodeString(to); err == nil && len(b) == 32 {
		return to, true
	}
	return "", false
}

// dataURI is signal-cli's attachment form
// data:<MIME-TYPE>[;filename=<FILENAME>];base64,<DATA>.
func dataURI(ct, name string, data []byte) string {
	if ct == "" {
		ct = "application/octet-stream"
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	}
	var b strings.Builder
	b.WriteString("data:" + ct)
	// ; and , would end the parameter early.
	if name = strings.NewReplacer(";", "_", ",", "_").Replace(name); name != "" {
		b.WriteString(";filename=" + name)
	}
	b.WriteString(";base64," + base64.StdEncoding.EncodeToString(data))
	return b.String()
}
