package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/onrecord/onrecord/internal/connector"
)

const (
	headerSignature = "X-Slack-Signature"
	headerTimestamp = "X-Slack-Request-Timestamp"
	// HeaderRetryNum is set by Slack on redeliveries (1..3); the body, and
	// so every provider id, is the same as the first attempt's.
	HeaderRetryNum = "X-Slack-Retry-Num"
)

// Authenticate checks X-Slack-Signature: "v0=" + hex(HMAC-SHA256(signing
// secret, "v0:" + X-Slack-Request-Timestamp + ":" + raw body)), and that the
// timestamp is within MaxTimestampSkew of req.ReceivedAt.
func (c *Connector) Authenticate(req *connector.Request) error {
	sigHeader := req.Header.Get(headerSignature)
	if sigHeader == "" {
		return fmt.Errorf("slack: missing %s header: %w", headerSignature, connector.ErrSignature)
	}
	tsHeader := req.Header.Get(headerTimestamp)
	if tsHeader == "" {
		return fmt.Errorf("slack: missing %s header: %w", headerTimestamp, connector.ErrSignature)
	}
	want, err := parseSignature(sigHeader)
	if err != nil {
		return fmt.Errorf("slack: %w: %w", err, connector.ErrSignature)
	}
	ts, err := parseTimestamp(tsHeader)
	if err != nil {
		return fmt.Errorf("slack: %w: %w", err, connector.ErrSignature)
	}
	// Verify the MAC before judging the time, so a forged request learns
	// nothing about the replay window.
	if !hmac.Equal(sign(c.signingSecret, tsHeader, req.Body), want) {
		return fmt.Errorf("slack: %s does not match the body (wrong signing_secret or altered body): %w", headerSignature, connector.ErrSignature)
	}
	skew := c.clock(req).Sub(time.Unix(ts, 0))
	if skew > MaxTimestampSkew || skew < -MaxTimestampSkew {
		return fmt.Errorf("slack: %s is %s from the time of receipt, more than %s (replayed or clock skew): %w",
			headerTimestamp, skew.Round(time.Second), MaxTimestampSkew, connector.ErrSignature)
	}
	return nil
}

// sign computes the raw v0 MAC.
func sign(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("v0:"))
	m.Write([]byte(timestamp))
	m.Write([]byte(":"))
	m.Write(body)
	return m.Sum(nil)
}

// parseSignature reads "v0=<64 hex digits>" and returns the MAC bytes.
func parseSignature(h string) ([]byte, error) {
	h = strings.TrimSpace(h)
	version, digest, ok := strings.Cut(h, "=")
	if !ok {
		return nil, fmt.Errorf("malformed %s: want v0=<hex>", headerSignature)
	}
	if version != "v0" {
		return nil, fmt.Errorf("%s version is not v0", headerSignature)
	}
	if len(digest) != 2*sha256.Size {
		return nil, fmt.Errorf("malformed %s: digest is %d characters, want %d", headerSignature, len(digest), 2*sha256.Size)
	}
	b, err := hex.DecodeString(digest)
	if err != nil {
		return nil, fmt.Errorf("malformed %s: digest is not hex", headerSignature)
	}
	return b, nil
}

// parseTimestamp reads X-Slack-Request-Timestamp: decimal Unix seconds.
func parseTimestamp(h string) (int64, error) {
	if h == "" || len(h) > 12 {
		return 0, fmt.Errorf("malformed %s: want Unix seconds", headerTimestamp)
	}
	for _, r := range h {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("malformed %s: want Unix seconds", headerTimestamp)
		}
	}
	ts, err := strconv.ParseInt(h, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("malformed %s: want Unix seconds", headerTimestamp)
	}
	return ts, nil
}
