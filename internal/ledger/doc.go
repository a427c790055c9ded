// Package ledger is the tamper-evident Merkle log over onrecord's journal.
//
// # Why a log
//
// SEC 17a-4(f) accepts an audit-trail alternative to WORM storage: the
// archive must be able to show that no record was altered or deleted. A
// Merkle log gives that proof with open, standard tools. Every journal record
// (an encoded record.Envelope) is one leaf; the leaf index is the record's
// journal sequence number and the leaf hash is record.LeafHash(envelope),
// the RFC 6962 leaf hash SHA-256(0x00 || envelope). The leaf commits to the
// ciphertext, never to plaintext, so crypto-shredding a bucket key later
// removes the content but every proof still verifies.
//
// # The journal is the truth
//
// The tree is derived state. On start the caller opens the ledger (empty
// tree), replays every durable journal record with AppendLeaves and calls
// Start. AppendLeaves is then called from the journal's commit hook, after
// fdatasync, for each committed batch: it only hashes in memory, so no
// checkpoint is ever signed for a leaf that is not durable, and the writer
// goroutine never waits on signing or disk.
//
// Memory: the tree keeps the hashes at tile levels only (tree levels 0, 8,
// 16, ...), which is exactly the data of every tile. Other nodes are
// recomputed from at most 128 stored hashes when a proof needs them. The
// full level-0 tiles (the leaf hashes, 32 bytes per record) are written to
// a file in the ledger directory and dropped from memory, a few hundred
// kept as a cache; read back, each is checked against the level-8 node
// above it, which stays in memory with the rest (about 0.13 bytes per
// record). The file is derived state, rewritten from the journal at every
// open; nothing else about tiles is persisted.
//
// # Checkpoints
//
// A checkpoint is a C2SP tlog-checkpoint signed note (Ed25519, see
// golang.org/x/mod/sumdb/note):
//
//	<origin>
//	<tree size>
//	<base64 root hash>
//
//	— <origin> <base64 key hash and signature>
//
// A background goroutine signs one when CheckpointEvery leaves have arrived
// since the last, or CheckpointInterval has passed and the tree grew;
// Checkpoint forces one (shutdown, `onrecord checkpoint`). Unlike the tree,
// checkpoints are artifacts of their own: once published they are promises
// that the journal must keep. Each one is appended to checkpoints.log in
// the ledger directory (frame = uint32 length, uint32 CRC-32C, the note) and
// fsynced before it is served. On Open a torn last entry is truncated and
// corruption anywhere before it fails closed with the offset. Start then
// checks the latest checkpoint against the replayed tree: a journal that
// has fewer records than a checkpoint commits to, or a different root at
// that size, stops the process with an error instead of signing a fork.
// VerifyHistory checks every stored checkpoint the same way (the scrub).
//
// A failed write or fsync of the history is sticky: the ledger signs
// nothing more until a restart, because after fsyncgate the file's durable
// content is unknown. Capture is not affected.
//
// A bit flip in the very last entry of the history cannot be told apart
// from a torn append; Open truncates it and logs a warning naming the
// offset, and ReadCheckpoints reports it as torn.
//
// # Tiles
//
// Handler serves the log in C2SP tlog-tiles layout: /log/checkpoint,
// /log/tile/<L>/<N>[.p/<W>] (256 hashes of tree level 8L per full tile,
// N spelled in 3-digit elements, "x" before all but the last) and
// /log/tile/entries/<N>[.p/<W>] (each entry a uint16 length and the
// envelope bytes; an envelope over 65535 bytes cannot be put in a bundle
// and is answered with 500 — the archive keeps provider payloads and
// message texts over 16 KiB, and long recipient lists and group rosters,
// as blobs, so that only an event with some other field that large
// (thousands of entries in Meta) is left). The same tiles are what the Go checksum
// database serves, so tlog.TileHashReader, Tessera clients and other
// tlog-tiles tooling work against it.
//
// # What an auditor can verify with standard tools
//
//   - every checkpoint's signature against the pinned verifier key
//     (note.Open, or log.ParseCheckpoint from transparency-dev/formats);
//   - consistency between any two checkpoints they kept (RFC 6962
//     consistency proof from tiles; proof.VerifyConsistency, tlog.CheckTree);
//   - inclusion of any record (SHA-256(0x00 || envelope) at its index;
//     proof.VerifyInclusion, tlog.CheckRecord);
//   - offline, from the journal files alone: recompute every leaf with
//     record.LeafHash, the root at each stored checkpoint's size with
//     Builder, and read the history with ReadCheckpoints, which names the
//     offset of any bad entry and repairs nothing.
//
// Witness cosignatures (C2SP tlog-witness) are not implemented here yet.
package ledger
