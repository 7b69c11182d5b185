package dsl

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/hcl/v2"
)

var serverSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "http"}, {Type: "radius"}, {Type: "store"}},
}

var httpSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "listen"}, {Name: "public_url"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "tls"}},
}

var tlsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "cert_file", Required: true}, {Name: "key_file", Required: true}},
}

var radiusServerSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "listen"}, {Name: "accounting_listen"}},
}

var storeSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "path"}, {Name: "encryption_key"}, {Name: "audit_retention"}},
}

func defaultServer() Server {
	return Server{
		HTTP:  HTTP{Listen: DefaultHTTPListen},
		Store: Store{Path: DefaultStorePath, AuditRetention: DefaultAuditRetention},
	}
}

// decodeServerBlock decodes the server block; absent sub-blocks keep
// their defaults, so `server {}` equals no server block at all.
func decodeServerBlock(l *loader, block *hcl.Block) (*Server, hcl.Diagnostics) {
	s := defaultServer()
	s.DeclRange = block.DefRange
	content, diags := decodeContent(block.Body, serverSchema, "the server block")
	if content == nil {
		return &s, diags
	}
	if b, d := oneBlock(content.Blocks, "http", "server"); b != nil || d != nil {
		diags = append(diags, d...)
		if b != nil {
			h, d := decodeHTTPBlock(l, b)
			diags = append(diags, d...)
			s.HTTP = *h
		}
	}
	if b, d := oneBlock(content.Blocks, "radius", "server"); b != nil || d != nil {
		diags = append(diags, d...)
		if b != nil {
			r := &RADIUS{Listen: DefaultRADIUSListen, DeclRange: b.DefRange}
			c, d := decodeContent(b.Body, radiusServerSchema, "the radius block of server")
			diags = append(diags, d...)
			if c != nil {
				if a := c.Attributes["listen"]; a != nil {
					if v, ok, d := l.listenAddr(a); ok {
						r.Listen = v
					} else {
						diags = append(diags, d...)
					}
				}
				if a := c.Attributes["accounting_listen"]; a != nil {
					if v, ok, d := l.listenAddr(a); ok {
						r.AccountingListen = v
					} else {
						diags = append(diags, d...)
					}
				}
				if r.AccountingListen != "" && r.AccountingListen == r.Listen {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Conflicting listen addresses",
						Detail:   "RADIUS authentication and accounting cannot share one address; accounting usually listens on port 1813.",
						Subject:  c.Attributes["accounting_listen"].Expr.Range().Ptr(),
					})
				}
			}
			s.RADIUS = r
		}
	}
	if b, d := oneBlock(content.Blocks, "store", "server"); b != nil || d != nil {
		diags = append(diags, d...)
		if b != nil {
			s.Store.DeclRange = b.DefRange
			c, d := decodeContent(b.Body, storeSchema, "the store block of server")
			diags = append(diags, d...)
			if c != nil {
				if a := c.Attributes["path"]; a != nil {
					v, ok, d := l.str(a)
					diags = append(diags, d...)
					if ok && v == "" {
						diags = append(diags, &hcl.Diagnostic{
							Severity: hcl.DiagError,
							Summary:  "Empty store path",
							Detail:   "The store path names the bbolt file, relative to the data directory; it cannot be empty.",
							Subject:  a.Expr.Range().Ptr(),
						})
					} else if ok {
						s.Store.Path = v
					}
				}
				if a := c.Attributes["encryption_key"]; a != nil {
					v, ok, d := l.secret(a, "the store")
					diags = append(diags, d...)
					if ok {
						s.Store.EncryptionKey = v
					}
				}
				if a := c.Attributes["audit_retention"]; a != nil {
					v, ok, d := l.auditRetention(a)
					diags = append(diags, d...)
					if ok {
						s.Store.AuditRetention = v
					}
				}
			}
		}
	}
	if s.RADIUS != nil && s.RADIUS.Listen == s.HTTP.Listen {
		// Different protocols (UDP and TCP) could share a port, but a
		// shared address:port is nearly always a copy-paste slip.
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "RADIUS and HTTP share an address",
			Detail:   fmt.Sprintf("Both listen on %s; RADIUS normally uses port 1812.", s.HTTP.Listen),
			Subject:  s.RADIUS.DeclRange.Ptr(),
		})
	}
	return &s, diags
}

// auditRetention reads server.store.audit_retention: a duration of at
// least MinAuditRetention, or 0 (keep forever, with a warning: the store
// then grows without bound).
func (l *loader) auditRetention(a *hcl.Attribute) (time.Duration, bool, hcl.Diagnostics) {
	d, ok, diags := l.duration(a, true)
	if !ok {
		return 0, false, diags
	}
	switch {
	case d == 0:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Audit log kept forever",
			Detail:   "audit_retention = \"0\" never removes audit entries, so the store grows without bound. Set a duration such as \"90d\" or \"52w\" unless the entries are shipped and pruned elsewhere.",
			Subject:  a.Expr.Range().Ptr(),
		})
	case d < MinAuditRetention:
		return 0, false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Audit retention too short",
			Detail:   fmt.Sprintf("audit_retention is %s; it must be at least 1h (entries are swept hourly), or \"0\" to keep them forever. The default is 90d.", formatDuration(d)),
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	return d, true, diags
}

func decodeHTTPBlock(l *loader, b *hcl.Block) (*HTTP, hcl.Diagnostics) {
	h := &HTTP{Listen: DefaultHTTPListen, DeclRange: b.DefRange}
	c, diags := decodeContent(b.Body, httpSchema, "the http block of server")
	if c == nil {
		return h, diags
	}
	if a := c.Attributes["listen"]; a != nil {
		v, ok, d := l.listenAddr(a)
		diags = append(diags, d...)
		if ok {
			h.Listen = v
		}
	}
	if a := c.Attributes["public_url"]; a != nil {
		v, ok, d := l.strURL(a, "server.http", "Phones and browsers are given this URL, so take them out of it.")
		diags = append(diags, d...)
		if ok {
			u, err := url.Parse(v)
			if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid public URL",
					Detail:   "public_url must be an absolute http or https URL, like \"https://auth.example.com\": the address phones and browsers reach.",
					Subject:  a.Expr.Range().Ptr(),
				})
			} else {
				if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagWarning,
						Summary:  "Public URL without TLS",
						Detail:   "public_url uses http:// for a host other than loopback, so push answers and logins would cross the network unencrypted. Use https:// (TLS here or at a proxy).",
						Subject:  a.Expr.Range().Ptr(),
					})
				}
				h.PublicURL = v
			}
		}
	}
	if tb, d := oneBlock(c.Blocks, "tls", "http"); tb != nil || d != nil {
		diags = append(diags, d...)
		if tb != nil {
			t := &TLS{DeclRange: tb.DefRange}
			tc, d := decodeContent(tb.Body, tlsSchema, "the tls block of server.http")
			diags = append(diags, d...)
			if tc != nil {
				if a := tc.Attributes["cert_file"]; a != nil {
					if v, ok, d := l.str(a); ok {
						t.CertFile = l.configPath(v)
						diags = append(diags, l.requireFile(a, t.CertFile)...)
					} else {
						diags = append(diags, d...)
					}
				}
				if a := tc.Attributes["key_file"]; a != nil {
					if v, ok, d := l.str(a); ok {
						t.KeyFile = l.configPath(v)
						diags = append(diags, l.requireFile(a, t.KeyFile)...)
					} else {
						diags = append(diags, d...)
					}
				}
			}
			h.TLS = t
		}
	}
	return h, diags
}

// listenAddr reads a host:port listen address (":9000" listens on every
// interface).
func (l *loader) listenAddr(a *hcl.Attribute) (string, bool, hcl.Diagnostics) {
	v, ok, diags := l.str(a)
	if !ok {
		return "", false, diags
	}
	host, port, err := net.SplitHostPort(v)
	bad := err != nil
	if !bad {
		p, perr := strconv.Atoi(port)
		bad = perr != nil || p < 0 || p > 65535
		if host != "" && net.ParseIP(host) == nil && host != "localhost" {
			bad = bad || len(host) > 253
		}
	}
	if bad {
		return "", false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid listen address",
			Detail:   fmt.Sprintf("%s must be HOST:PORT, like \"127.0.0.1:9000\" or \"[::1]:9000\" (\":9000\" listens on every interface).", a.Name),
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	return v, true, diags
}

// configPath resolves a path setting against the directory of the file
// being decoded, so a configuration directory can be moved as a whole.
func (l *loader) configPath(p string) string {
	if p == "" || filepath.IsAbs(p) || l.curBase == "" {
		return p
	}
	return filepath.Join(l.curBase, filepath.FromSlash(p))
}

// isLoopbackHost reports whether host (from a URL, without brackets) is
// the loopback interface: 127.0.0.0/8, ::1 or localhost.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// requireFile checks, for authd run only (Options.RequireEnv), that a path
// setting names a file that exists: validate runs where key files are
// usually absent, a server must not start without them.
func (l *loader) requireFile(a *hcl.Attribute, path string) hcl.Diagnostics {
	if !l.opts.RequireEnv || path == "" || l.curBase == "" {
		return nil
	}
	st, err := os.Stat(path)
	if err == nil && !st.IsDir() {
		return nil
	}
	why := "does not exist"
	if err == nil {
		why = "is a directory"
	} else if !os.IsNotExist(err) {
		why = "cannot be read: " + pathErr(err)
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "File not found",
		Detail:   fmt.Sprintf("The %s %q %s, and authd cannot start without it. Paths are relative to the directory of the file that names them.", a.Name, path, why),
		Subject:  a.Expr.Range().Ptr(),
	}}
}
