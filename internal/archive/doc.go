// Package archive is the write path every record takes and the one place
// that knows how the data directory is laid out:
//
//	event → seal (internal/crypt) → journal append, group commit, fdatasync
//	      (internal/journal) → Merkle leaf (internal/ledger) → acknowledged
//
// Append returns only after the record is durable; the caller (a webhook
// handler, the importer) acknowledges its own caller after that and never
// before. System records (holds, disposals) go through the same journal.
//
// Data directory:
//
//	journal/          segment files (the truth)
//	log/              signed checkpoints and the log's public key
//	keys/kek.age      the key-encryption key (unless key_file puts it elsewhere)
//	keys/buckets/     bucket keys wrapped by the KEK; removed on disposal
//	keys/log-signer   the checkpoint signing key, wrapped by the KEK
//	keys/dedup        the key of the keyed hashes used for idempotency, wrapped
//
// Idempotency without plaintext: an event record's public field holds two
// keyed hashes (HMAC-SHA256 under the dedup key): one of (channel,
// provider_id, kind) and one of the content. On start the archive rebuilds
// its duplicate map from them without decrypting anything, and a provider
// retry is recognised without a readable index on disk.
package archive
