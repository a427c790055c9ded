// Package crypt seals every onrecord record before it reaches disk, and
// arranges keys so that disposal is key destruction ("crypto-shredding") and
// one record can be disclosed without its neighbours.
//
// # Key hierarchy
//
//	KEK (kms.Wrapper: local age key file, Vault transit, AWS KMS)
//	 └─ bucket key: 32 random bytes per (retention class, UTC day),
//	    stored wrapped by the KEK in DIR/<class>/<YYYY-MM-DD>.key
//	     └─ record key = HKDF-SHA256(ikm = bucket key, salt = record id,
//	        info = "onrecord/v1/record", 32 bytes)          ← what is disclosed
//	         └─ AEAD key ‖ commitment = HKDF-Expand(prk = record key,
//	            info = "onrecord/v1/seal", 64 bytes)
//	            AEAD key (first 32): AES-256-GCM, 12-byte random nonce,
//	              AAD = Envelope.AAD() (kind, id, time, bucket)
//	            commitment (last 32): stored in Envelope.KeyCommitment
//
// Why each level exists:
//
//   - The KEK never touches records. It wraps one bucket key per class and
//     day, so a remote KMS is asked once per bucket rather than once per
//     message, and the ~100k seals/s hot path is local AES-GCM.
//
//   - Buckets are the unit of disposal. Every record of one retention class
//     captured on one UTC day shares an expiry, so destroying that day's
//     bucket key makes exactly those records unreadable, everywhere,
//     including in backups and on WORM storage that cannot delete anything.
//     The Merkle log commits to ciphertext, so every inclusion and
//     consistency proof still verifies after the key is gone.
//
//   - Record keys are the unit of disclosure. An export bundle for one
//     message carries that message's record key; the HKDF salt is the record
//     id, so the record key of one record says nothing about the bucket key or
//     any other record's key. An auditor opens the record with
//     OpenWithRecordKey and needs nothing else from us.
//
// # Key commitment
//
// AES-GCM is not key-committing: someone who chooses two keys can build one
// ciphertext that decrypts, with a valid tag, under both ("Invisible
// Salamanders", Dodis et al., CRYPTO 2018; Albertini et al., USENIX Security
// 2022). For an archive that discloses keys, that matters: a dishonest
// discloser could hand an auditor a second key under which a logged
// ciphertext "decrypts" to different text. So each envelope carries a
// 32-byte commitment derived from the record key, the envelope (commitment
// included) is what the Merkle leaf hashes, and every open path recomputes
// the commitment from the key it was given and compares it, in constant
// time, BEFORE decrypting. A mismatch is ErrKeyCommitment and the AEAD is
// never run with that key.
//
// The commitment is derived from the record key rather than being a second
// half of the bucket-key HKDF output so that the record key alone is enough
// to check it: the verifier derives both the AEAD key and the commitment
// from the disclosed record key. Were the disclosed value "AEAD key plus
// commitment", the verifier could only compare the commitment to itself,
// which proves nothing. Finding two record keys with the same commitment
// requires an HMAC-SHA256 output collision. Deriving the AEAD key and the
// commitment as separate HKDF outputs also keeps one key from serving both
// as an AES key and as an HMAC key.
//
// # Durability
//
// A new bucket key is written to a temporary file, fsynced, hard-linked into
// place (a link, unlike a rename, never replaces a key another process wrote
// first), and the directory fsynced, before the first envelope sealed with
// it is returned. Otherwise a crash could leave acknowledged records whose
// key never reached the disk.
//
// # Destroy is mechanism, not policy
//
// Sealer.Destroy destroys a bucket key unconditionally. Destroying a key
// before the retention of every record in its bucket has passed, or while
// any legal hold covers any of them, is a premature erasure of regulated
// records (SEC 17a-4, FINRA 4511). Checking retention and holds, and
// appending the disposal record to the log, is the caller's job (package
// retention); nothing else may call Destroy.
//
// Destroy writes a tombstone (<day>.destroyed, no key material) before
// removing the key file, so a destroyed bucket is never silently re-keyed:
// Seal and Open for it return ErrKeyDestroyed. Removing the file removes
// the wrapped key from the filesystem's namespace; it cannot scrub the
// blocks of an SSD or a copy-on-write filesystem, snapshots or backups of
// the keystore. What makes the key unrecoverable is that it only ever
// existed on disk wrapped by the KEK: backups of the keystore must be
// expired on the same schedule, and rotating the KEK after disposals makes
// stale copies useless.
package crypt
