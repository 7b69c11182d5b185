//go:build radiusbench

// Command load is the second load generator of `make bench-radius`, for
// when radclient itself is the limit: P workers, each on its own UDP
// socket with one request in flight (radclient -p P sends the same way),
// every request signed with Message-Authenticator.
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"layeh.com/radius"

	authdradius "github.com/authd/authd/protocols/radius"
)

func main() {
	server := flag.String("server", "127.0.0.1:1812", "RADIUS server")
	secret := flag.String("secret", "testing123", "shared secret")
	user := flag.String("user", "nohash", "User-Name")
	pass := flag.String("pass", "x", "User-Password")
	n := flag.Int("n", 20000, "requests in all")
	p := flag.Int("p", 64, "requests in flight")
	flag.Parse()

	var next, accepted, rejected, lost atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *p; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("udp", *server)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			defer conn.Close()
			buf := make([]byte, 4096)
			var id byte
			for next.Add(1) <= int64(*n) {
				id++
				req := request(id, *secret, *user, *pass)
				got := false
				for try := 0; try < 3 && !got; try++ {
					conn.Write(req)
					conn.SetReadDeadline(time.Now().Add(2 * time.Second))
					for {
						m, err := conn.Read(buf)
						if err != nil {
							break
						}
						if m < 20 || buf[1] != id || !radius.IsAuthenticResponse(buf[:m], req, []byte(*secret)) {
							continue
						}
						got = true
						if radius.Code(buf[0]) == radius.CodeAccessAccept {
							accepted.Add(1)
						} else {
							rejected.Add(1)
						}
						break
					}
				}
				if !got {
					lost.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	fmt.Printf("requests %d accepted %d rejected %d lost %d seconds %.3f rps %.0f\n",
		*n, accepted.Load(), rejected.Load(), lost.Load(), el.Seconds(), float64(*n)/el.Seconds())
}

// request builds a signed Access-Request.
func request(id byte, secret, user, pass string) []byte {
	p := radius.New(radius.CodeAccessRequest, []byte(secret))
	p.Identifier = id
	rand.Read(p.Authenticator[:])
	p.Add(1, radius.Attribute(user))
	pw, _ := radius.NewUserPassword([]byte(pass), p.Secret, p.Authenticator[:])
	p.Add(2, pw)
	b, err := authdradius.SignRequest(p)
	if err != nil {
		fmt.Fprintln(os.Stderr, "encoding a request:", err)
		os.Exit(1)
	}
	return b
}
