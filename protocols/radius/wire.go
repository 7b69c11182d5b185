package radius

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"unicode/utf8"

	"layeh.com/radius"
)

// Attribute types the front end reads or writes itself.
const (
	attrUserName             radius.Type = 1
	attrUserPassword         radius.Type = 2
	attrCHAPPassword         radius.Type = 3
	attrNASIPAddress         radius.Type = 4
	attrReplyMessage         radius.Type = 18
	attrState                radius.Type = 24
	attrVendorSpecific       radius.Type = 26
	attrCallingStationID     radius.Type = 31
	attrNASIdentifier        radius.Type = 32
	attrProxyState           radius.Type = 33
	attrAcctStatusType       radius.Type = 40
	attrAcctSessionID        radius.Type = 44
	attrEAPMessage           radius.Type = 79
	attrMessageAuthenticator radius.Type = 80
	attrNASIPv6Address       radius.Type = 95
)

// Fortinet's FortiAuthenticator marks a challenge that offers push with
// Fortinet-FAC-Challenge-Code (vendor 12356, type 15) = "001".
const (
	vendorFortinet        = 12356
	fortinetChallengeCode = 15
)

const (
	headerLen = 20
	maxPacket = radius.MaxPacketLength
	// maxPasswordLen is RFC 2865's limit for User-Password (5.2).
	maxPasswordLen = 128
)

var errMalformed = errors.New("malformed packet")

// rawInfo is what one pass over the raw attributes tells before layeh
// parses them: where the Message-Authenticator is, and whether the
// request carries Proxy-State.
type rawInfo struct {
	maOffset      int // offset of the Message-Authenticator attribute in the packet; -1: none
	maCount       int
	hasProxyState bool
}

// scanAttributes walks the attributes of a packet whose header length has
// been checked, rejecting any that overrun it.
func scanAttributes(b []byte) (rawInfo, error) {
	info := rawInfo{maOffset: -1}
	for off := headerLen; off < len(b); {
		if len(b)-off < 2 {
			return info, errMalformed
		}
		l := int(b[off+1])
		if l < 2 || off+l > len(b) {
			return info, errMalformed
		}
		switch radius.Type(b[off]) {
		case attrMessageAuthenticator:
			if l != 18 {
				return info, errMalformed
			}
			info.maOffset = off
			info.maCount++
		case attrProxyState:
			info.hasProxyState = true
		}
		off += l
	}
	if info.maCount > 1 {
		return info, errMalformed
	}
	return info, nil
}

// SignRequest adds a Message-Authenticator (RFC 3579) to p as its last
// attribute and returns the packet's bytes, for clients of authd (the
// scenario runner, load generators, tests): authd drops an Access-Request
// without one unless the client allows it (BlastRADIUS, CVE-2024-3596).
// p's attribute is updated to the value sent.
func SignRequest(p *radius.Packet) ([]byte, error) {
	p.Add(attrMessageAuthenticator, make(radius.Attribute, 16))
	b, err := p.Encode()
	if err != nil {
		return nil, err
	}
	mac := hmac.New(md5.New, p.Secret)
	mac.Write(b)
	sum := mac.Sum(nil)
	copy(b[len(b)-16:], sum)
	p.Attributes[len(p.Attributes)-1].Attribute = sum
	return b, nil
}

// validMessageAuthenticator checks RFC 3579's HMAC-MD5 over the packet
// with the attribute's value zeroed, for Access-Request and Status-Server.
func validMessageAuthenticator(b []byte, maOffset int, secret []byte) bool {
	var zero [16]byte
	mac := hmac.New(md5.New, secret)
	mac.Write(b[:maOffset+2])
	mac.Write(zero[:])
	mac.Write(b[maOffset+18:])
	var sum [md5.Size]byte
	return subtle.ConstantTimeCompare(mac.Sum(sum[:0]), b[maOffset+2:maOffset+18]) == 1
}

// validAccountingAuthenticator checks an Accounting-Request's Request
// Authenticator (RFC 2866 3).
func validAccountingAuthenticator(b, secret []byte) bool {
	var zero [16]byte
	h := md5.New()
	h.Write(b[:4])
	h.Write(zero[:])
	h.Write(b[headerLen:])
	h.Write(secret)
	var sum [md5.Size]byte
	return subtle.ConstantTimeCompare(h.Sum(sum[:0]), b[4:headerLen]) == 1
}

// encodeReply builds a reply to the raw request req: Message-Authenticator
// first (when withMA), then the request's Proxy-State attributes in their
// order (RFC 2865 5.33), then attrs. The response authenticator is
// computed last, over the final bytes.
func encodeReply(code radius.Code, req []byte, secret []byte, withMA bool, attrs []*radius.AVP) ([]byte, error) {
	proxy := proxyStates(req)
	n := headerLen
	if withMA {
		n += 18
	}
	for _, p := range proxy {
		n += len(p)
	}
	for _, a := range attrs {
		if len(a.Attribute) > 253 || a.Type < 1 || a.Type > 255 {
			return nil, errors.New("radius: reply attribute too long")
		}
		n += 2 + len(a.Attribute)
	}
	if n > maxPacket {
		return nil, errors.New("radius: reply longer than 4096 bytes")
	}
	b := make([]byte, headerLen, n)
	b[0] = byte(code)
	b[1] = req[1]
	binary.BigEndian.PutUint16(b[2:4], uint16(n))
	copy(b[4:headerLen], req[4:headerLen])
	if withMA {
		b = append(b, byte(attrMessageAuthenticator), 18)
		b = append(b, make([]byte, 16)...)
	}
	for _, p := range proxy {
		b = append(b, p...)
	}
	for _, a := range attrs {
		b = append(b, byte(a.Type), byte(2+len(a.Attribute)))
		b = append(b, a.Attribute...)
	}
	if withMA {
		mac := hmac.New(md5.New, secret)
		mac.Write(b) // the authenticator field holds the request's; MA is zero
		copy(b[headerLen+2:headerLen+18], mac.Sum(nil))
	}
	h := md5.New()
	h.Write(b)
	h.Write(secret)
	copy(b[4:headerLen], h.Sum(nil))
	return b, nil
}

// proxyStates returns the request's Proxy-State attributes (whole, header
// included) in order. req has passed scanAttributes.
func proxyStates(req []byte) [][]byte {
	var out [][]byte
	for off := headerLen; off+2 <= len(req); {
		l := int(req[off+1])
		if l < 2 || off+l > len(req) {
			break
		}
		if radius.Type(req[off]) == attrProxyState {
			out = append(out, req[off:off+l])
		}
		off += l
	}
	return out
}

// replyMessages splits text into Reply-Message attributes of at most 253
// bytes each, on rune boundaries; clients concatenate them.
func replyMessages(text string) []*radius.AVP {
	var out []*radius.AVP
	for len(text) > 0 {
		n := min(len(text), 253)
		for n < len(text) && n > 0 && !utf8.RuneStart(text[n]) {
			n--
		}
		if n == 0 {
			n = min(len(text), 253)
		}
		out = append(out, &radius.AVP{Type: attrReplyMessage, Attribute: radius.Attribute(text[:n])})
		text = text[n:]
	}
	return out
}

// vsa builds a Vendor-Specific attribute holding one sub-attribute.
func vsa(vendor uint32, typ byte, data []byte) *radius.AVP {
	b := make([]byte, 0, 6+len(data))
	b = binary.BigEndian.AppendUint32(b, vendor)
	b = append(b, typ, byte(2+len(data)))
	b = append(b, data...)
	return &radius.AVP{Type: attrVendorSpecific, Attribute: b}
}
