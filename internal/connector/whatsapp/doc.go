// Package whatsapp is the connector for the WhatsApp Business Cloud API
// (Meta): it checks X-Hub-Signature-256 over the raw webhook body, answers
// the hub.challenge verification, turns webhook deliveries into canonical
// events, downloads media through the Graph API and sends messages.
//
// Why it is shaped the way it is:
//
//   - The signature is an HMAC over the bytes exactly as Meta sent them
//     (ASCII JSON, non-ASCII escaped as \uXXXX). Nothing here ever
//     re-encodes a body before verifying it; doing so would make every
//     message with an accent or an emoji fail.
//   - Meta retries a delivery for days and may batch several entries,
//     changes, messages and statuses into one POST. Every event therefore
//     gets a provider id that is stable across retries: the wamid for
//     messages, "<wamid>:<status>" for statuses (plus the participant for
//     group statuses, which Meta reports per member), and, for account
//     notifications that carry no id at all, the entry id, the field and a
//     hash of the value.
//   - Edits, revokes and reactions are separate records linked to the
//     original by Target: the archive never changes what it already holds.
//   - What staff type in the WhatsApp Business app (coexistence numbers)
//     arrives only through the smb_message_echoes field; those become
//     outbound events so the firm's side of a conversation is captured too.
//     Those echoes and the app's chat history (the history field) carry no
//     names; the app's address book arrives through smb_app_state_sync,
//     whose contact changes are recorded in the contacts' conversations.
//   - Anything recognisable but unknown (a new message type, a new webhook
//     field) becomes an event with Subtype "unsupported" or the field name,
//     never a silent drop; only a body that is not a WhatsApp delivery at
//     all is an error, which the gateway archives raw.
//   - Parse never fetches media: it records the media id (or the URL Meta
//     included) and the gateway fetches through its SSRF-safe client, with
//     the access token sent only to Meta's hosts or the configured API root.
package whatsapp
