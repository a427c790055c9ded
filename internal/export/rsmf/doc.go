// Package rsmf writes a production as RSMF 2.0 (Relativity Short Message
// Format) files, the format eDiscovery platforms (Relativity, Reveal and
// others) read chat into their short-message viewers.
//
// An .rsmf file is an RFC 5322 message: X-RSMF-* headers, a text/plain part
// that summarises the conversation (what a platform indexes as extracted
// text and shows when it does not know RSMF), and one attachment, rsmf.zip,
// holding rsmf_manifest.json and every file the manifest names. The
// manifest follows Relativity's rsmf_schema_2_0_0.json.
//
// The mapping, and why:
//
//   - One file per conversation and day (in Options.Location), or per
//     conversation with SplitBy "none"; a file whose attachments would pass
//     Options.MaxBytes is split into parts, because platforms refuse or choke
//     on very large RSMFs. Every file of a conversation carries the same
//     eventcollectionid so a platform can put the slices back together.
//   - A message is a manifest event of type "message". An edit, delete,
//     reaction or status whose original message is in the production is not
//     an event of its own: it is folded into the original, where RSMF
//     expresses it natively (edits[], deleted, reactions[], read_receipts[]),
//     and the file that holds the original carries its record too, even if
//     that record is from a later day. That is how a reviewer expects to
//     see it: the message, marked edited, deleted and reacted to.
//   - Nothing is dropped. Each folded record is named in the original's
//     custom fields (edit.1.seq, reaction.2.bates...), so its Bates number is
//     in the production. A record whose original is not in the production
//     becomes an event of its own with a note saying so; a system record
//     becomes a "join", "leave" or "disclaimer" event, an unparsed delivery
//     an "unknown" event with its raw bytes attached.
//   - The message body is the text as first sent (that is the record the
//     message's Bates number stands for); later text is in edits[] with the
//     text it replaced.
//   - RSMF reactions are the state at the end of the production: a removed
//     reaction is taken off (the reactor's named reaction, or all of theirs
//     when the removal does not name one). The history, additions and
//     removals, stays in the custom fields.
//   - An attachment that could not be fetched has no bytes to put in the
//     zip, and RSMF validators reject a manifest naming a file the zip lacks,
//     so it is named with its error in the event's custom fields instead.
//   - Output is deterministic: entries are ordered by time then journal
//     sequence, zip modification times come from the events, the MIME
//     boundary from the content, so the same items give the same bytes
//     (except the X-RSMF-ExportDate header, from Options.Now).
package rsmf
