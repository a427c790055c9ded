// Package signal captures Signal conversations through signal-cli
// (AsamK/signal-cli), the only practical way to archive Signal: there is no
// official business API, so signal-cli runs as a linked device of the
// organisation's Signal account and hands over every envelope it decrypts as
// JSON.
//
// # Two ways in
//
// The gateway can pull from signal-cli's HTTP daemon (`signal-cli -a NUMBER
// daemon --http`): [Connector.Stream] reads its server-sent-event stream at
// GET {rpc_url}/api/v1/events and hands each notification to the gateway as
// a Request with Method "STREAM" and RemoteAddr "signal-cli". Or signal-cli
// pushes: bbernhard/signal-cli-rest-api's RECEIVE_WEBHOOK_URL POSTs each
// JSON-RPC `receive` line to /hooks/{channel}.
//
// # Why the push feed needs a token or loopback
//
// Unlike every other provider, the pushed feed is unsigned:
// signal-cli-rest-api posts the plaintext envelope with no signature, no
// timestamp and no secret (src/client/jsonrpc2.go postMessageToWebhook). The
// webhook URL is therefore the only thing standing between anyone who can
// reach the gateway and a forged "message from a client" in a regulatory
// archive. So [Connector.Authenticate] accepts a push only if
//
//  1. push_token is configured and the request carries it (as the `token`
//     query parameter — the only place signal-cli-rest-api can put it,
//     inside RECEIVE_WEBHOOK_URL — or as `Authorization: Bearer` or
//     `X-Onrecord-Token` when a proxy adds it), compared in constant time; or
//  2. push_token is empty and the request came from a loopback address,
//     i.e. signal-cli-rest-api runs on the same host.
//
// Streamed requests are accepted because the gateway itself opened that
// connection to the configured daemon. They are recognised by RemoteAddr
// "signal-cli", which net/http can never produce for a network peer (it is
// always host:port), together with Method "STREAM".
//
// # Identity
//
// Signal has no server message id: a message is named by its author and the
// author's sent timestamp in milliseconds, and replies, reactions, edits and
// deletes refer to their target the same way. ProviderID is therefore
// "<author>:<sent timestamp>", where author is the sender's ACI (uuid), or
// the number when signal-cli has no uuid. The organisation's own messages
// (sync transcripts from the employee's phone, messages sent through
// [Connector.Send]) use the configured account number as author —
// "<account>:<ts>" — because signal-cli does not always tell us the
// account's own uuid; every Target that points at one of our messages
// (receipts, reactions to our messages, quotes of them) is normalised to the
// same "<account>:<ts>" form so the links hold. When an envelope names its
// sender by uuid and also gives the number, the number is kept in
// Meta["source_number"]: employees know, and add contacts by, numbers.
//
// Statuses are one record per (message, status, reader):
// "<target>:<status>:<reader>" — in a group several members send read
// receipts for the same message and each is its own fact. Typing indicators
// (only with keep_typing) refer to a conversation, not a message, so their
// Target is the conversation id.
//
// # Loss on the stream
//
// The event stream has no acknowledgement: once signal-cli has decrypted an
// envelope and written it to the stream it has acked it to the Signal
// server. If the gateway cannot store a streamed notification, Stream
// returns an error and the gateway reconnects, but that notification is not
// sent again. The gateway's journal makes this window short; it cannot be
// closed from this side.
package signal
