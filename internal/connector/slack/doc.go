// Package slack is the connector for the Slack Events API: it checks the
// v0 request signature over the raw body, answers url_verification, turns
// event_callback deliveries into canonical events, downloads shared files
// with the bot token and posts messages with chat.postMessage.
//
// Why it is shaped the way it is:
//
//   - The signature is HMAC-SHA256 over "v0:<timestamp>:<raw body>" with the
//     app's signing secret, compared in constant time. The timestamp must be
//     within five minutes of when the delivery was received (req.ReceivedAt,
//     which is also how tests inject the clock for Slack's published
//     vectors), otherwise a captured delivery could be replayed forever.
//   - The gateway calls Handshake before Authenticate, so Handshake checks the
//     signature itself before it echoes a url_verification challenge: an
//     unsigned caller must not be able to make the gateway answer for it.
//   - Slack identifies a message by (channel, ts), so a message's provider id
//     is "<channel>:<ts>" and edits, deletes and reactions point at it through
//     Target. Slack retries a delivery up to three times with the same body
//     (X-Slack-Retry-Num); every provider id is derived from the body only,
//     never from the retry headers or the clock, so retries deduplicate.
//     app_mention repeats a message the app may also receive as "message";
//     both map to the same provider id and kind, so the archive keeps one.
//   - Edits and deletes are their own records: "<channel>:<ts>:edit:<edit ts>"
//     and "<channel>:<ts>:delete", with the previous text kept in Meta. A
//     thread parent deleted while it has replies arrives as message_changed
//     to a "tombstone"; that is a delete too.
//   - Slack has no employee directory in the payload. Until the gateway has
//     one, a message is outbound only when it was sent by a bot or app
//     (bot_id, app_id, bot_message, or the app's own bot user listed in
//     authorizations); every person's message is inbound.
//   - Anything recognisable but unknown (a new event type, a new message
//     subtype) becomes a system event named after it, never a silent drop;
//     only a body that is neither a Slack JSON envelope nor a Slack form post
//     is an error, which the gateway archives raw.
//   - Parse never fetches files: it records url_private_download (or the file
//     id when Slack withholds the URL) and the gateway fetches through its
//     SSRF-safe client. The bot token is only ever sent to Slack's own hosts
//     or the configured API root, so a crafted URL cannot exfiltrate it.
package slack
