// Package kms defines the seam between onrecord and whatever holds its
// key-encryption key (KEK): a local age key file by default, HashiCorp Vault
// transit or AWS KMS at scale.
//
// The KEK never encrypts records. It only wraps the small bucket keys that
// package crypt generates, so a remote KMS is called once per bucket (per
// retention class and UTC day), not once per message, and the hot path stays
// local. Every backend must pass the conformance suite in package kmstest.
package kms

import "errors"

// ErrWrongKey is wrapped by Unwrap when the wrapped bytes were not produced
// by this key-encryption key, or were altered after wrapping. Backends must
// map their own "bad ciphertext" / "wrong key" failures onto it, and must NOT
// map transient failures (network, throttling, permissions) onto it: a caller
// treats ErrWrongKey as "this keystore belongs to another KEK or was tampered
// with", which is an operator alarm, not something to retry.
var ErrWrongKey = errors.New("kms: wrapped key was not made by this key-encryption key, or was altered")

// Wrapper wraps and unwraps secret keys under a key-encryption key.
//
// Implementations must be safe for concurrent use.
type Wrapper interface {
	// Wrap encrypts plain (a secret key, typically 32 bytes plus a label)
	// under the KEK with an authenticated scheme. Two calls with the same
	// input return different bytes.
	Wrap(plain []byte) ([]byte, error)
	// Unwrap reverses Wrap. It returns an error wrapping ErrWrongKey if
	// wrapped was made by a different KEK or was modified.
	Unwrap(wrapped []byte) ([]byte, error)
	// ID is a short, stable, non-secret fingerprint of the KEK. It is
	// written next to every wrapped key so that a keystore opened with the
	// wrong KEK fails with a clear message before anything is unwrapped.
	// It contains no whitespace.
	ID() string
}
