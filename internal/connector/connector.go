// Package connector defines what a channel connector provides to the
// capture gateway, and nothing else: each provider's package
// (internal/connector/whatsapp, twilio, telegram, slack, signal) turns that
// provider's webhook deliveries, exactly as they arrive, into canonical
// events, checks their signatures as the provider documents them, fetches
// their media and sends messages through the provider's API.
//
// The gateway (internal/ingest) owns the contract around it: verify the
// signature over the raw body → parse → seal → commit → then 2xx. A
// connector never stores anything and never answers the provider itself,
// except for handshakes that carry no events.
package connector

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/onrecord/onrecord"
)

// ErrSignature is wrapped by every authentication failure: a missing,
// malformed, wrong or stale signature. The gateway answers 401 and stores
// nothing.
var ErrSignature = errors.New("signature does not verify")

// Request is one delivery as received: the raw body byte for byte, never
// re-encoded (signatures are over these exact bytes).
type Request struct {
	Method string
	// URL is the request URL as received (path and query).
	URL *url.URL
	// PublicURL is the URL the provider called: the configured public_url
	// joined with the received path and query (Twilio signs it).
	PublicURL  string
	Header     http.Header
	Body       []byte
	ReceivedAt time.Time
	RemoteAddr string

	form    url.Values // Form's result, read once
	formErr error
	formSet bool
}

// Form returns the delivery's form parameters: the query string of a GET
// or HEAD, else the body as application/x-www-form-urlencoded. It parses
// once, so a connector that verifies a signature over the parameters
// (Twilio) and then maps them does not read the body twice. The values are
// shared: callers must not change them.
func (r *Request) Form() (url.Values, error) {
	if !r.formSet {
		r.formSet = true
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if r.URL == nil {
				r.formErr = errors.New("GET webhook without a URL")
			} else {
				r.form, r.formErr = url.ParseQuery(r.URL.RawQuery)
			}
		} else {
			r.form, r.formErr = url.ParseQuery(string(r.Body))
		}
	}
	return r.form, r.formErr
}

// Response is what a connector answers to a handshake.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

// Config is one [[channel]] block of the configuration with its secrets
// resolved (env:NAME and file:PATH already read).
type Config struct {
	// Name is the channel's name: its webhook is /hooks/{Name} and its
	// events carry it as their channel.
	Name string
	Type string
	// APIBaseURL overrides the provider's API root (simulators, proxies).
	APIBaseURL string
	// PublicURL is the gateway's public base URL (for signed URLs).
	PublicURL string

	// WhatsApp
	AppSecret, VerifyToken, AccessToken, PhoneNumberID string
	// Twilio. SharedKeys are the secrets of the SharedKeys a Twilio
	// Webhook Setting may sign with instead of the Auth Token.
	AuthToken, AccountSID, From string
	SharedKeys                  []string
	// Telegram (BotToken also for Slack)
	BotToken, SecretToken string
	// Slack
	SigningSecret string
	// Signal (signal-cli): RPCURL is the JSON-RPC HTTP daemon; Account the
	// number; PushToken, if set, must accompany pushed deliveries.
	RPCURL, Account, PushToken string
	// KeepTyping keeps typing indicators as status records (Signal).
	KeepTyping bool
}

// MediaRef is a file an event refers to that must be fetched from the
// provider at capture.
type MediaRef struct {
	// Ref is the provider's handle: a media id, a file id or a URL.
	Ref         string
	Name        string
	ContentType string
	// Size is what the provider announced, 0 if unknown.
	Size int64
}

// Event is a canonical event with the media still to fetch. The gateway
// fills Channel, CapturedAt and Raw; the connector fills the rest.
//
// A connector sets Raw itself only for an item of a delivery that is too
// large to repeat in each of its records (WhatsApp's history chunks carry
// thousands of messages): Raw is then the item's own bytes exactly as they
// stand in the signed body, and the connector also returns one event that
// keeps the whole delivery (Raw left empty, for the gateway to fill).
type Event struct {
	onrecord.Event
	Media []MediaRef
	// Backfill marks history the provider sends long after the fact
	// (WhatsApp's chat history of a newly onboarded number): it is
	// captured like any event, but its age is not capture lag.
	Backfill bool
}

// Connector is one configured channel.
type Connector interface {
	// Handshake answers a provider's verification request that carries no
	// events (WhatsApp's GET hub.challenge, Slack's url_verification,
	// after its signature is checked). ok is false if req is not one; an
	// error means a handshake that must be refused (403).
	Handshake(req *Request) (resp *Response, ok bool, err error)
	// Authenticate checks the delivery's signature over req.Body exactly as
	// the provider documents it, in constant time. Failures wrap
	// ErrSignature.
	Authenticate(req *Request) error
	// Parse maps an authenticated delivery to canonical events, in the
	// order they happened in the payload. Every edit, delete, reaction and
	// status is its own event whose Target is the original's provider id.
	// An error means the delivery cannot be read; the gateway archives it
	// raw as an unparsed record. Parse never panics.
	Parse(req *Request) ([]Event, error)
	// Fetch downloads one media file through the provider's API with the
	// channel's credentials, using client (which the gateway makes safe
	// against SSRF and bounds in size and time).
	Fetch(ctx context.Context, client *http.Client, m MediaRef) (body io.ReadCloser, contentType string, err error)
	// Send sends a message through the provider's API and returns the
	// provider's message id.
	Send(ctx context.Context, client *http.Client, msg Outbound) (providerID string, err error)
}

// Outbound is a message the organisation sends.
type Outbound struct {
	To          string
	Body        string
	Attachments []onrecord.Attachment
	// Group says To is a group conversation, for providers that address
	// groups differently (WhatsApp's recipient_type "group").
	Group bool
}

// Streamer is implemented by connectors that can also pull events from a
// long-lived stream (signal-cli's JSON-RPC event stream). Stream delivers
// each notification as a Request and returns when ctx ends or the stream
// fails; the gateway reconnects.
type Streamer interface {
	Stream(ctx context.Context, client *http.Client, deliver func(*Request) error) error
}
