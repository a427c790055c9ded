// Package telegram is the connector for the Telegram Bot API, including
// Telegram Business: it checks the secret token on webhook deliveries,
// turns Updates into canonical events, downloads files through getFile and
// sends messages with sendMessage and sendDocument.
//
// Why it is shaped the way it is:
//
//   - Telegram does not sign its webhooks. The only proof a delivery comes
//     from Telegram is the X-Telegram-Bot-Api-Secret-Token header carrying
//     the secret_token the bot gave setWebhook, so secret_token is
//     required and compared in constant time (over SHA-256 digests, so the
//     time does not depend on the length of what was sent either).
//   - Telegram message ids are unique only within a chat, so a message's
//     provider id is "<chat_id>:<message_id>", and every edit, reaction,
//     pin and delete points at that form through Target. Business chats
//     are the exception that needs more: the chat id there is the
//     customer's user id, identical for every employee the customer
//     writes to, while each employee's account numbers its messages
//     independently, so business messages are keyed
//     "<business_connection_id>:<chat_id>:<message_id>". Without it two
//     employees' messages to one customer could share an id and the
//     archive would take the second for a retry of the first.
//   - Edits arrive as the full new message with the same message_id and an
//     edit_date; each is its own record "<message key>:edit:<edit_date>"
//     linked to the original, never a change to it. Reactions arrive as a
//     user's old and new reaction lists; each reaction added or removed is
//     one record. Deletions are reported only for business chats, without
//     saying who deleted or when.
//   - Direction is decided from the payload alone, with no state kept
//     between deliveries: the bot's own messages (its id is the number in
//     its token) are outbound; in a business chat the chat id is the
//     customer, so anything written by someone else — the employee who owns
//     the account, or a bot on their behalf — is outbound.
//   - Service messages (members joining, title changes, pins) and update
//     types without a mapping of their own (callback queries, member
//     changes, future additions) become system events with the field name
//     as Subtype; a message whose content this package does not know is a
//     message with Subtype "unsupported". Only a body that is not an
//     Update, or a known update that cannot be read, is an error, which the
//     gateway archives raw.
//   - Parse never fetches: it records the file_id of each file (the
//     largest photo size) and the gateway fetches through its SSRF-safe
//     client. File and method URLs contain the bot token, so no error this
//     package returns ever contains a URL with it.
package telegram
