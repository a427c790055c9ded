// Package twiliosim simulates the parts of Twilio Programmable Messaging
// that onrecord talks to, so tests and `onrecord demo` never reach the
// internet: the Messages API (send, with Twilio's Basic auth and error
// bodies), media download (Basic auth, then a redirect to a short-lived
// CDN URL, as the real API does), and webhook deliveries of every kind the
// connector maps — SMS, MMS, WhatsApp through Twilio, status callbacks,
// Conversations post-event webhooks, GET webhooks and Event Streams JSON
// batches — signed exactly as Twilio signs them.
//
// The signing code here is written independently of the connector's
// verifier on purpose: a test that signs and verifies with the same
// function proves nothing about either.
package twiliosim
