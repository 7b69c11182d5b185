// Package push is authd's push MFA subsystem: it implements
// engine.PushService for the push nodes (push_sender, push_wait,
// push_result_verifier, push_registration), delivers notifications through
// the configured push_provider blocks (apns, fcm, poll, webhook) and serves
// the device endpoints:
//
//	POST /api/v1/push/enroll    a device enrols with a one-time code
//	GET  /api/v1/push/pending   a device fetches its pending pushes (signed)
//	POST /api/v1/push/respond   a device answers a push (signed)
//
// The wire format (enrolment URI, ES256 device tokens, bodies) is
// documented in package wire; the software authenticator that speaks it is
// package authenticator; fakes of APNs and FCM for tests are in pushtest.
//
// # Design
//
// Enrolment. push_registration asks BeginEnrollment for a one-time code
// (random id, 256-bit secret, the node's timeout) and shows
// authd://enroll?v=1&url=PUBLIC_URL&realm=R&user=U&issuer=I&id=ID&secret=S
// as text and QR code. The device creates a P-256 key pair and posts an
// enrol token signed by the new key (proof of possession) holding an HMAC
// of the code under the secret (proof of the secret, which itself never
// travels again), its platform and push token. One store transaction
// checks the code, applies the realm's enrollment_mode and writes the
// device: single_device refuses a second live device, override_allowed
// replaces the old devices, multiple_devices keeps them all. The code is
// spent either way, and the waiting journey is woken at once. Known
// limitation: the secret stays in the enrolment record, in clear, until the
// code is used, refused or withdrawn (then it is wiped) or swept a day
// after it expired. A hash of it cannot replace it: checking the HMAC
// proof needs the key itself (docs/operations.md, "Push enrolment secrets
// in the store").
//
// Sending. push_sender calls Send: the user's live devices whose provider
// the realm lists get the notification, concurrently, each bounded by the
// send timeout (default 10 s, and never past the push's expiry), so a
// provider outage ends in the push_sender's failure outcome (with
// capture_failure) or a clean journey failure, never a hang. A user has at
// most 3 pending pushes (MaxPending): more are refused, which bounds "push
// bombing". APNs and FCM carry only the message id and the reply URL
// (public_url), because Apple and Google can read payloads; the device
// fetches the message, context and numbers with a signed request. An APNs
// 410 Unregistered / 400 BadDeviceToken or an FCM UNREGISTERED marks the
// device dead; if every device turns out dead the node leaves by
// not_registered.
//
// Number matching. For push_type = "challenge" authd draws three distinct
// two-digit numbers; push_wait shows the right one at login (a `text`
// callback with ChallengeNumber) and the phone shows all three. An
// approval with another number flips the push to denied (reason
// wrong_number): one wrong pick ends the attempt, so guessing cannot win.
//
// Answers. The device posts an ES256 JWT signed by its key carrying the
// message id, the push's random challenge, approve/deny, the chosen number
// and the report flag, with audience, nonce, issue time and an expiry of at
// most five minutes. authd checks the signature before it says anything
// about the push, accepts only the devices the push went to (checked
// before anything else about the push, so another device hears "unknown
// push" whether it is pending, decided or expired), only before the
// push's expiry, and flips pending → approved/denied in one store
// transaction, so of several devices the first answer wins and a replay
// finds the push decided. Every rejection is logged as an audit line
// (event=push.answer_rejected); "deny and report" logs event=push.reported
// at warning level.
//
// One commit per answer. The answer's verdict is worked out from the
// stored push, published in memory (one answer per push is in flight in
// the process; authd holds the store's file lock, so no other process
// answers) and the session is woken at once (engine.WakeHeld). The held
// RADIUS request or long-polling page resumes, reads the verdict in
// PushStatus and commits the flip inside its own save (engine.JoinSave):
// the flip, the device's last_used and the resumed login's write are one
// store transaction, so both replies wait for one fsync instead of three
// (the fetch used to write last_used, the flip was a commit of its own,
// then the login's save). If nobody holds the session, or the resumed
// request has not committed it within 100 ms, the answer writes the flip
// itself. Either way the flip is one transaction that re-checks the push
// (DecideIn), the device is told the verdict only once it is stored, and
// a login can only succeed in a commit that also stores the approval, so
// a kill -9 at any point leaves either both or neither. A fetch of
// pending pushes writes nothing; last_used is the last answer.
//
// Expiry. A pending push past its expiry reads as expired;
// push_result_verifier then clears state.push_message_id so push_sender
// can send again. Old pushes and codes are swept a day after they expire
// (Run).
//
// Nothing in this package logs a push token, a key, a secret or a device
// token; errors of provider calls are stripped of URLs that would carry
// the device token.
package push
