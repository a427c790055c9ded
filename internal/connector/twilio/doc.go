// Package twilio is onrecord's connector for Twilio Programmable Messaging:
// SMS, MMS and WhatsApp through Twilio, their status callbacks, Twilio
// Conversations post-event webhooks and Event Streams webhook sinks.
//
// Why it looks the way it does:
//
//   - Twilio signs the URL it called, not just the body: X-Twilio-Signature
//     is HMAC-SHA1 over the full public URL (query included) followed by the
//     POST parameters sorted by name. The gateway therefore hands us the
//     public URL (public_url + path + query as received), and we parse the
//     form body ourselves from the raw bytes, because a re-encoded body or a
//     framework's "helpful" normalisation would not verify.
//   - Twilio's own backend is inconsistent about ports, so, as the official
//     SDKs do, a signature is accepted over the URL with and without the
//     port. Repeated parameters are signed as the SDKs sign them: each name
//     once, its distinct values sorted.
//   - JSON deliveries (Event Streams) cannot be signed parameter by
//     parameter; Twilio appends bodySHA256=<hex> to the URL, signs the URL
//     only, and we check the body's hash in constant time.
//   - Twilio's message webhooks carry no timestamp, so SentAt is when the
//     gateway received the delivery; status callbacks arrive out of order
//     and more than once, so each (MessageSid, status) pair is its own
//     record, keyed "<MessageSid>:<status>" and linked by Target.
//   - Twilio adds parameters without notice. Nothing is whitelisted: every
//     parameter that has no field of its own is kept in Meta, so a record
//     never loses what the provider said.
//   - Media URLs need the account's Basic credentials and redirect to a
//     short-lived CDN URL; the credentials are only ever sent to Twilio's
//     API host, and Go's client drops them on the cross-host redirect.
package twilio
