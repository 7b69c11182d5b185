// Package mfa keeps the second factors of each realm's users in the store:
// OTP tokens (TOTP, RFC 6238, and HOTP, RFC 4226) and one-time recovery
// codes. It is the one place that touches their secrets, so the rules live
// here and nowhere else:
//
//   - OTP secrets are sealed with AES-256-GCM before they reach the store,
//     bound to their realm, user and token id (a record copied onto another
//     user does not decrypt). The key comes from server.store's
//     encryption_key, else $AUTHD_STORE_KEY, else DATA/store.key, generated
//     (mode 0600) on first use; see ResolveKey.
//   - A code is accepted at most once: the last accepted TOTP time step and
//     the next HOTP counter are written in the same transaction that accepts
//     the code, so two concurrent requests with one code cannot both pass.
//   - Recovery codes and SMS codes are stored only as HMAC-SHA256 under a key
//     derived from the same master key. A keyed hash, not argon2id: the codes
//     are random (80 bits for recovery codes), so a slow hash adds nothing
//     against guessing, while checking one against ten argon2id hashes would
//     cost a second of CPU and 640 MiB per login attempt. The key makes a
//     stolen store useless for testing guesses offline, which matters for
//     6-digit SMS codes.
//
// Nothing here logs or returns a secret or a code, except the two places
// made for it: Enroll returns the otpauth:// URI once, and
// GenerateRecoveryCodes returns the codes once.
package mfa
