package radius

import (
	"embed"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math"
	"math/big"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agext/levenshtein"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"layeh.com/radius"
	"layeh.com/radius/dictionary"
)

// The dictionaries are FreeRADIUS's own files (see dictionaries/README.md),
// so operators write the attribute names their NAS documentation uses.
//
//go:embed dictionaries/dictionary.*
var dictionaryFS embed.FS

// dictionaryFiles are parsed in this order; a later file may not redefine
// an earlier name with another meaning.
var dictionaryFiles = []string{
	"dictionary.rfc2865", "dictionary.rfc2866", "dictionary.rfc2868", "dictionary.rfc2869", "dictionary.rfc3162", "dictionary.rfc3580",
	"dictionary.fortinet", "dictionary.microsoft", "dictionary.cisco", "dictionary.juniper", "dictionary.paloalto",
}

// attrDef is one attribute of the dictionaries, standard (Vendor 0) or
// vendor-specific.
type attrDef struct {
	Name      string
	Vendor    uint32
	Type      byte
	Kind      dictionary.AttributeType
	Size      int // fixed length of an octets[N] attribute; 0: any
	Tagged    bool
	Encrypted bool
	// Values are the named values of an integer attribute, by lower-cased
	// name.
	Values map[string]uint64
	// valueNames are the named values as the dictionary spells them.
	valueNames []string
}

type dict struct {
	byName map[string]*attrDef // by lower-cased name
	names  []string            // canonical names, sorted
}

var loadDict = sync.OnceValues(func() (*dict, error) {
	d := &dict{byName: map[string]*attrDef{}}
	p := &dictionary.Parser{Opener: embedOpener{}, IgnoreIdenticalAttributes: true}
	for _, name := range dictionaryFiles {
		f, err := dictionaryFS.Open("dictionaries/" + name)
		if err != nil {
			return nil, err
		}
		parsed, err := p.Parse(embedFile{f, name})
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("radius: parsing %s: %w", name, err)
		}
		if err := d.add(0, 1, 1, parsed.Attributes, parsed.Values); err != nil {
			return nil, fmt.Errorf("radius: %s: %w", name, err)
		}
		for _, v := range parsed.Vendors {
			if err := d.add(uint32(v.Number), v.GetTypeOctets(), v.GetLengthOctets(), v.Attributes, v.Values); err != nil {
				return nil, fmt.Errorf("radius: %s: %w", name, err)
			}
		}
	}
	for _, a := range d.byName {
		d.names = append(d.names, a.Name)
	}
	sort.Strings(d.names)
	return d, nil
})

func (d *dict) add(vendor uint32, typeOctets, lengthOctets int, attrs []*dictionary.Attribute, values []*dictionary.Value) error {
	if typeOctets != 1 || lengthOctets != 1 {
		return fmt.Errorf("vendor %d uses format=%d,%d, which authd does not encode", vendor, typeOctets, lengthOctets)
	}
	local := map[string]*attrDef{}
	for _, a := range attrs {
		if len(a.OID) != 1 || a.OID[0] < 1 || a.OID[0] > 255 {
			continue // nested TLVs: not used in replies
		}
		def := &attrDef{
			Name: a.Name, Vendor: vendor, Type: byte(a.OID[0]), Kind: a.Type,
			Tagged: a.HasTag(), Encrypted: a.FlagEncrypt.Valid && a.FlagEncrypt.Int != 0,
		}
		if a.Size.Valid {
			def.Size = a.Size.Int
		}
		key := strings.ToLower(a.Name)
		if old, ok := d.byName[key]; ok && (old.Vendor != def.Vendor || old.Type != def.Type || old.Kind != def.Kind) {
			return fmt.Errorf("attribute %s is defined twice", a.Name)
		}
		d.byName[key] = def
		local[key] = def
	}
	for _, v := range values {
		def := local[strings.ToLower(v.Attribute)]
		if def == nil {
			def = d.byName[strings.ToLower(v.Attribute)]
		}
		if def == nil {
			continue
		}
		if def.Values == nil {
			def.Values = map[string]uint64{}
		}
		if _, dup := def.Values[strings.ToLower(v.Name)]; !dup {
			def.valueNames = append(def.valueNames, v.Name)
		}
		def.Values[strings.ToLower(v.Name)] = v.Number
	}
	return nil
}

// embedOpener lets the dictionary parser follow $INCLUDE inside the
// embedded files (ours have none, but a vendor file may).
type embedOpener struct{}

func (embedOpener) OpenFile(name string) (dictionary.File, error) {
	f, err := dictionaryFS.Open("dictionaries/" + name)
	if err != nil {
		return nil, err
	}
	return embedFile{f, name}, nil
}

type embedFile struct {
	fs.File
	name string
}

func (f embedFile) Read(b []byte) (int, error) { return f.File.Read(b) }
func (f embedFile) Name() string               { return f.name }

func mustDict() *dict {
	d, err := loadDict()
	if err != nil {
		// The dictionaries are embedded and TestDictionariesLoad parses
		// them: a failure here is a build defect, not input.
		panic(err)
	}
	return d
}

// KnownAttributes lists every attribute name of authd's RADIUS
// dictionaries (standard and vendor), sorted, for completion and "did you
// mean" hints in `authd validate`.
func KnownAttributes() []string {
	return append([]string(nil), mustDict().names...)
}

// Standard attributes a policy may not set: authd owns them (State,
// Message-Authenticator, Proxy-State) or they carry secrets or requests.
var reservedTypes = map[byte]string{
	2:  "is a request attribute",
	3:  "is a request attribute",
	24: "is managed by authd (it carries the challenge)",
	26: "is the raw vendor container; name the vendor attribute instead (e.g. Fortinet-Group-Name)",
	33: "is copied from the request by authd",
	79: "is EAP, which authd does not speak",
	80: "is computed by authd for every reply",
}

// lookupAttr finds the attribute a policy names, or explains why it cannot
// be used in a reply.
func lookupAttr(name string) (*attrDef, error) {
	d := mustDict()
	a := d.byName[strings.ToLower(name)]
	if a == nil {
		msg := fmt.Sprintf("unknown RADIUS attribute %q", name)
		if s := suggest(d.names, name); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, fmt.Errorf("%s", msg)
	}
	if a.Vendor == 0 {
		if why, ok := reservedTypes[a.Type]; ok {
			return nil, fmt.Errorf("attribute %q %s", a.Name, why)
		}
	}
	if a.Encrypted {
		return nil, fmt.Errorf("attribute %q is encrypted on the wire, which reply_attributes do not support", a.Name)
	}
	switch a.Kind {
	case dictionary.AttributeString, dictionary.AttributeOctets, dictionary.AttributeInteger,
		dictionary.AttributeInteger64, dictionary.AttributeShort, dictionary.AttributeByte,
		dictionary.AttributeSigned, dictionary.AttributeDate, dictionary.AttributeIPAddr,
		dictionary.AttributeIPv6Addr, dictionary.AttributeIPv6Prefix, dictionary.AttributeIPv4Prefix,
		dictionary.AttributeEther, dictionary.AttributeIFID:
	default:
		return nil, fmt.Errorf("attribute %q is of type %s, which reply_attributes do not support", a.Name, a.Kind)
	}
	return a, nil
}

func suggest(names []string, given string) string {
	best, bestD := "", 4
	lg := strings.ToLower(given)
	for _, n := range names {
		if d := levenshtein.Distance(lg, strings.ToLower(n), nil); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// CheckAttribute reports whether a reply attribute called name can carry v.
// dsl calls it (registered by this package's init, since dsl does not
// import protocols) for every key of a radius_policy's reply_attributes, with the value as
// far as it is known at validate time: unknown values are checked by type,
// known ones by encoding them. A list, set or tuple stands for one
// attribute per element; null means "send nothing".
func CheckAttribute(name string, v cty.Value) error {
	a, err := lookupAttr(name)
	if err != nil {
		return err
	}
	_, err = a.encodeAll(v, true)
	return err
}

// encodeAll encodes v (one value, or a collection of them) as the wire
// data of one attribute per element. With check set, unknown values are
// accepted when their type fits and produce no data.
func (a *attrDef) encodeAll(v cty.Value, check bool) ([][]byte, error) {
	if v == cty.NilVal || v.IsNull() {
		return nil, nil
	}
	ty := v.Type()
	switch {
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		if !v.IsKnown() {
			if !check {
				return nil, fmt.Errorf("attribute %q: value is not known", a.Name)
			}
			if ty.IsTupleType() {
				for _, et := range ty.TupleElementTypes() {
					if err := a.typeFits(et); err != nil {
						return nil, err
					}
				}
				return nil, nil
			}
			return nil, a.typeFits(ty.ElementType())
		}
		var out [][]byte
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsNull() {
				continue
			}
			if et := e.Type(); et.IsListType() || et.IsSetType() || et.IsTupleType() || et.IsMapType() || et.IsObjectType() {
				return nil, fmt.Errorf("attribute %q takes %s or a flat list of them, not nested collections", a.Name, a.describe())
			}
			b, err := a.encodeOne(e, check)
			if err != nil {
				return nil, err
			}
			if b != nil {
				out = append(out, b)
			}
		}
		return out, nil
	case ty.IsMapType() || ty.IsObjectType():
		return nil, fmt.Errorf("attribute %q takes %s (or a list of them), not a map or object", a.Name, a.describe())
	}
	b, err := a.encodeOne(v, check)
	if err != nil || b == nil {
		return nil, err
	}
	return [][]byte{b}, nil
}

func (a *attrDef) describe() string {
	switch a.Kind {
	case dictionary.AttributeString:
		return "a string"
	case dictionary.AttributeOctets:
		return "a string of bytes (\"0x...\" for hex)"
	case dictionary.AttributeInteger, dictionary.AttributeInteger64, dictionary.AttributeShort,
		dictionary.AttributeByte, dictionary.AttributeSigned:
		if len(a.Values) > 0 {
			return "a whole number or one of its named values (" + strings.Join(a.someValueNames(4), ", ") + ")"
		}
		return "a whole number"
	case dictionary.AttributeDate:
		return "a date (Unix seconds or an RFC 3339 string)"
	case dictionary.AttributeIPAddr:
		return "an IPv4 address"
	case dictionary.AttributeIPv6Addr:
		return "an IPv6 address"
	case dictionary.AttributeIPv6Prefix:
		return "an IPv6 prefix such as \"2001:db8::/64\""
	case dictionary.AttributeIPv4Prefix:
		return "an IPv4 prefix such as \"192.0.2.0/24\""
	case dictionary.AttributeEther:
		return "a MAC address"
	case dictionary.AttributeIFID:
		return "an interface id such as \"0000:0000:0000:0001\""
	}
	return a.Kind.String()
}

func (a *attrDef) someValueNames(max int) []string {
	out := append([]string(nil), a.valueNames...)
	if len(out) > max {
		out = append(out[:max], "...")
	}
	return out
}

// typeFits checks a value type that is known while the value is not.
func (a *attrDef) typeFits(ty cty.Type) error {
	if ty == cty.DynamicPseudoType || ty == cty.String {
		return nil
	}
	numeric := false
	switch a.Kind {
	case dictionary.AttributeInteger, dictionary.AttributeInteger64, dictionary.AttributeShort,
		dictionary.AttributeByte, dictionary.AttributeSigned, dictionary.AttributeDate:
		numeric = true
	}
	textual := a.Kind == dictionary.AttributeString || a.Kind == dictionary.AttributeOctets
	switch {
	case ty == cty.Number && (numeric || textual):
		return nil
	case ty == cty.Bool && textual:
		return nil
	}
	return fmt.Errorf("attribute %q takes %s, not a value of type %s", a.Name, a.describe(), ty.FriendlyName())
}

// maxData is the longest value the attribute can carry in one attribute.
func (a *attrDef) maxData() int {
	if a.Vendor != 0 {
		return 255 - 2 - 4 - 2
	}
	return 253
}

// encodeOne encodes a single primitive value.
func (a *attrDef) encodeOne(v cty.Value, check bool) ([]byte, error) {
	if !v.IsKnown() {
		if check {
			return nil, a.typeFits(v.Type())
		}
		return nil, fmt.Errorf("attribute %q: value is not known", a.Name)
	}
	if v.IsNull() {
		return nil, nil
	}
	if err := a.typeFits(v.Type()); err != nil {
		return nil, err
	}
	v, _ = v.Unmark()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("attribute %q takes %s: %s", a.Name, a.describe(), fmt.Sprintf(format, args...))
	}
	switch a.Kind {
	case dictionary.AttributeString, dictionary.AttributeOctets:
		sv, err := convert.Convert(v, cty.String)
		if err != nil {
			return nil, bad("%s", err)
		}
		b := []byte(sv.AsString())
		if a.Kind == dictionary.AttributeOctets && strings.HasPrefix(sv.AsString(), "0x") {
			h, err := hex.DecodeString(sv.AsString()[2:])
			if err != nil {
				return nil, bad("%q is not valid hex", sv.AsString())
			}
			b = h
		}
		if a.Tagged && len(b) > 0 && b[0] <= 0x1f {
			b = append([]byte{0}, b...) // tag 0, so the first byte is not read as a tag
		}
		if a.Size > 0 && len(b) != a.Size {
			return nil, bad("it must be exactly %d bytes, not %d", a.Size, len(b))
		}
		if len(b) == 0 {
			return nil, bad("an empty value cannot be sent")
		}
		if len(b) > a.maxData() {
			return nil, bad("%d bytes is longer than the %d one attribute can hold", len(b), a.maxData())
		}
		return b, nil
	case dictionary.AttributeInteger, dictionary.AttributeInteger64, dictionary.AttributeShort,
		dictionary.AttributeByte, dictionary.AttributeSigned:
		n, err := a.number(v)
		if err != nil {
			return nil, bad("%s", err)
		}
		lo, hi := int64(0), int64(math.MaxUint32)
		switch a.Kind {
		case dictionary.AttributeShort:
			hi = math.MaxUint16
		case dictionary.AttributeByte:
			hi = math.MaxUint8
		case dictionary.AttributeSigned:
			lo, hi = math.MinInt32, math.MaxInt32
		case dictionary.AttributeInteger64:
			hi = math.MaxInt64
		}
		if a.Tagged {
			hi = 1<<24 - 1
		}
		if !n.IsInt64() || n.Int64() < lo || n.Int64() > hi {
			shown := n.String()
			if len(shown) > 24 {
				shown = new(big.Float).SetInt(n).Text('g', 6)
			}
			return nil, bad("%s is out of range %d..%d", shown, lo, hi)
		}
		x := n.Int64()
		switch a.Kind {
		case dictionary.AttributeShort:
			return binary.BigEndian.AppendUint16(nil, uint16(x)), nil
		case dictionary.AttributeByte:
			return []byte{byte(x)}, nil
		case dictionary.AttributeInteger64:
			return binary.BigEndian.AppendUint64(nil, uint64(x)), nil
		}
		return binary.BigEndian.AppendUint32(nil, uint32(x)), nil // tag 0 in the top byte when tagged
	case dictionary.AttributeDate:
		var t int64
		if v.Type() == cty.String {
			ts, err := time.Parse(time.RFC3339, v.AsString())
			if err != nil {
				return nil, bad("%q is not an RFC 3339 time", v.AsString())
			}
			t = ts.Unix()
		} else {
			n, _ := v.AsBigFloat().Int64()
			t = n
		}
		if t < 0 || t > math.MaxUint32 {
			return nil, bad("out of range")
		}
		return binary.BigEndian.AppendUint32(nil, uint32(t)), nil
	case dictionary.AttributeIPAddr, dictionary.AttributeIPv6Addr:
		ip, err := netip.ParseAddr(v.AsString())
		if err != nil {
			return nil, bad("%q is not an IP address", v.AsString())
		}
		if a.Kind == dictionary.AttributeIPAddr {
			if ip = ip.Unmap(); !ip.Is4() {
				return nil, bad("%q is not IPv4", v.AsString())
			}
			b := ip.As4()
			return b[:], nil
		}
		if ip.Is4() || ip.Zone() != "" {
			return nil, bad("%q is not IPv6", v.AsString())
		}
		b := ip.As16()
		return b[:], nil
	case dictionary.AttributeIPv6Prefix, dictionary.AttributeIPv4Prefix:
		p, err := netip.ParsePrefix(v.AsString())
		if err != nil {
			return nil, bad("%q is not a prefix", v.AsString())
		}
		p = p.Masked()
		if a.Kind == dictionary.AttributeIPv4Prefix {
			if !p.Addr().Is4() {
				return nil, bad("%q is not IPv4", v.AsString())
			}
			b := p.Addr().As4()
			return append([]byte{0, byte(p.Bits())}, b[:]...), nil
		}
		if !p.Addr().Is6() || p.Addr().Is4In6() {
			return nil, bad("%q is not IPv6", v.AsString())
		}
		b := p.Addr().As16()
		return append([]byte{0, byte(p.Bits())}, b[:]...), nil
	case dictionary.AttributeEther, dictionary.AttributeIFID:
		s := v.AsString()
		if a.Kind == dictionary.AttributeIFID {
			s = ifidToMAC(s)
		}
		hw, err := net.ParseMAC(s)
		want := 6
		if a.Kind == dictionary.AttributeIFID {
			want = 8
		}
		if err != nil || len(hw) != want {
			return nil, bad("%q is not valid", v.AsString())
		}
		return []byte(hw), nil
	}
	return nil, fmt.Errorf("attribute %q is of type %s, which reply_attributes do not support", a.Name, a.Kind)
}

// ifidToMAC turns "0000:0000:0000:0001" into the colon-per-byte form
// net.ParseMAC reads.
func ifidToMAC(s string) string {
	parts := strings.Split(s, ":")
	if len(parts) != 4 {
		return s
	}
	var b strings.Builder
	for i, p := range parts {
		if len(p) != 4 {
			return s
		}
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(p[:2] + ":" + p[2:])
	}
	return b.String()
}

// number reads an integer attribute's value: a whole number, decimal
// digits, or one of the attribute's named values.
func (a *attrDef) number(v cty.Value) (*big.Int, error) {
	if v.Type() == cty.String {
		s := strings.TrimSpace(v.AsString())
		if n, ok := a.Values[strings.ToLower(s)]; ok {
			return new(big.Int).SetUint64(n), nil
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return big.NewInt(n), nil
		}
		return nil, fmt.Errorf("%q is neither a number nor a named value", s)
	}
	f := v.AsBigFloat()
	if !f.IsInt() {
		return nil, fmt.Errorf("%s is not a whole number", f.Text('g', -1))
	}
	n, _ := f.Int(nil)
	return n, nil
}

// avp wraps encoded data as a standard attribute or inside Vendor-Specific.
func (a *attrDef) avp(data []byte) *radius.AVP {
	if a.Vendor == 0 {
		return &radius.AVP{Type: radius.Type(a.Type), Attribute: data}
	}
	return vsa(a.Vendor, a.Type, data)
}

// encodeReplyAttributes turns an evaluated reply_attributes object into
// attributes, in key order so replies are deterministic.
func encodeReplyAttributes(obj cty.Value) ([]*radius.AVP, error) {
	if obj == cty.NilVal || obj.IsNull() {
		return nil, nil
	}
	if !obj.IsKnown() || !(obj.Type().IsObjectType() || obj.Type().IsMapType()) {
		return nil, fmt.Errorf("reply_attributes must be an object, not %s", obj.Type().FriendlyName())
	}
	var out []*radius.AVP
	for it := obj.ElementIterator(); it.Next(); {
		k, v := it.Element()
		a, err := lookupAttr(k.AsString())
		if err != nil {
			return nil, err
		}
		datas, err := a.encodeAll(v, false)
		if err != nil {
			return nil, err
		}
		for _, d := range datas {
			out = append(out, a.avp(d))
		}
	}
	return out, nil
}
