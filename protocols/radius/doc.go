// Package radius is authd's RADIUS front end (RFC 2865/2866/2869, RFC 5997
// Status-Server, RFC 5080 duplicate detection): it answers Access-Requests
// by running journeys on the engine, renders suspensions as
// Access-Challenges the way FortiAuthenticator does, and holds a request
// while a journey waits for a push answer.
//
// layeh.com/radius parses and encodes packets; the receive loop, the
// authenticity checks (Message-Authenticator, BlastRADIUS), the duplicate
// and reply cache and Proxy-State handling are ours, because layeh's
// PacketServer does none of them.
package radius
