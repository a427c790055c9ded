package signal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/onrecord/onrecord/internal/connector"
)

// maxEventBytes bounds one server-sent event; an envelope with a long
// message and many previews is a few hundred KiB at most.
const maxEventBytes = 16 << 20

// Stream subscribes to the daemon's event stream, GET
// {rpc_url}/api/v1/events?account=..., and calls deliver with each event's
// data as a Request (Method "STREAM", RemoteAddr "signal-cli"). It returns
// when ctx ends (ctx.Err()), when the stream fails or ends, or when deliver
// fails; the gateway reconnects.
func (c *Connector) Stream(ctx context.Context, client *http.Client, deliver func(*connector.Request) error) error {
	u, err := url.Parse(c.rpcURL + "/api/v1/events")
	if err != nil {
		return fmt.Errorf("signal-cli event stream: %w", err)
	}
	// In multi-account mode the daemon streams the named account only; in
	// single-account mode it ignores the parameter.
	u.RawQuery = url.Values{"account": {c.account}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("signal-cli event stream: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("signal-cli event stream: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("signal-cli event stream: HTTP %d from the daemon", resp.StatusCode)
	}
	err = readEvents(resp.Body, func(ev sseEvent) error {
		r := &connector.Request{
			Method: StreamMethod, URL: u, RemoteAddr: StreamRemoteAddr, Body: ev.data,
			Header: http.Header{"Content-Type": {"application/json"}},
		}
		if ev.name != "" {
			r.Header.Set("X-Sse-Event", ev.name)
		}
		if err := deliver(r); err != nil {
			return fmt.Errorf("deliver event: %w", err)
		}
		return nil
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		err = errors.New("closed by the daemon")
	}
	return fmt.Errorf("signal-cli event stream: %w", err)
}

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	name string
	data []byte
}

// readEvents parses a text/event-stream as the WHATWG spec defines it:
// lines end in CRLF, LF or CR; "field:value" with one optional space after
// the colon; several data lines join with LF; a line starting with ':' is a
// comment (signal-cli's keepalive is ":"); a blank line dispatches; an event
// with no data is not dispatched; an unfinished event at the end is
// dropped. It returns nil at the end of the stream.
func readEvents(r io.Reader, fn func(sseEvent) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEventBytes)
	sc.Split(scanLines)
	var (
		name    string
		data    bytes.Buffer
		hasData bool
	)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if hasData {
				b := bytes.TrimSuffix(data.Bytes(), []byte("\n"))
				if err := fn(sseEvent{name: name, data: bytes.Clone(b)}); err != nil {
					return err
				}
			}
			name, hasData = "", false
			data.Reset()
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if data.Len()+len(value) > maxEventBytes {
				return errors.New("event larger than 16 MiB")
			}
			data.Write(value)
			data.WriteByte('\n')
			hasData = true
		case "event":
			name = string(value)
		}
		// id and retry concern browser reconnection; signal-cli sends
		// neither and cannot replay, so they are ignored.
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	return nil
}

// scanLines splits on CRLF, LF or a lone CR.
func scanLines(data []byte, atEOF bool) (int, []byte, error) {
	if atEOF && len(data) == 0 {
		return 0, nil, nil
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\n' {
			return i + 1, data[:i], nil
		}
		// CR: swallow a following LF, which needs one more byte.
		if i+1 < len(data) {
			if data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
			return i + 1, data[:i], nil
		}
		if atEOF {
			return i + 1, data[:i], nil
		}
		return 0, nil, nil
	}
	if atEOF {
		// An unterminated last line is not a complete line; the event it
		// belongs to is never dispatched anyway.
		return len(data), data, nil
	}
	return 0, nil, nil
}
