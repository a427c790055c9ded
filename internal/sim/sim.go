// Package sim holds local simulators of the providers' real APIs, one
// subpackage per provider, for tests and `onrecord demo`: nothing reaches
// the internet. A simulator serves the parts of the API onrecord calls
// (media download, send) and produces webhook deliveries of every kind the
// provider documents, signed exactly as the provider signs them.
package sim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// Delivery is one webhook call, ready to send.
type Delivery struct {
	// Kind names what the delivery carries ("text", "edit", "status_read",
	// "verification", ...) for tests and logs.
	Kind   string
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// Send makes the delivery with client and returns the response status and
// body.
func (d Delivery) Send(ctx context.Context, client *http.Client) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, d.Method, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range d.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("deliver %s: %w", d.Kind, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, nil
}

// Person is someone in a simulated conversation.
type Person struct {
	ID   string // the provider's id: phone number, user id, uuid
	Name string
}
