// Package ingest is the capture gateway: the path a webhook takes from the
// provider to a durable record, in the order it must happen.
//
//	POST /hooks/{channel}
//	  read the raw body (bounded), byte for byte
//	  → handshake?      provider verification requests that carry no events
//	  → authenticate    the provider's signature over the raw body; else 401, nothing stored
//	  → parse           canonical events; an unreadable but signed body is archived raw as "unparsed"
//	  → fetch media     through the SSRF-safe client, bounded; a failure is recorded in the event
//	  → append          seal + journal + fdatasync (internal/archive), one record per event
//	  → 200             only now, after every record of the delivery is durable
//
// A provider retry is acknowledged without a second record (the archive's
// idempotency on channel, provider id and kind); the same id with
// different content is stored and counted as a conflict. Logs and metrics
// never carry message content.
package ingest
