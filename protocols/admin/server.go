package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// maxSocketPath is the longest unix socket path the kernel takes
// (sun_path is 108 bytes on Linux, 104 on the BSDs, NUL included).
const maxSocketPath = 103

// Listen creates the admin socket at path with mode 0600. A socket file
// left by a server that died is removed, but only after checking nobody
// answers on it: two servers never steal each other's socket.
func Listen(path string) (*net.UnixListener, error) {
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("admin socket path %s is too long for a unix socket (%d bytes, the limit is %d); use a shorter data directory", path, len(path), maxSocketPath)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("admin socket %s: a file that is not a socket is in the way", path)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("admin socket %s is in use by another process", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("removing stale admin socket: %w", err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	// bind(2) applies the umask; tighten the mode before the first accept.
	// The data directory is 0700 too, so nobody else can reach the file in
	// the instant between bind and chmod.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	return ln, nil
}

// Serve listens on socketPath and answers admin calls with h until ctx
// ends; see Server for the knobs.
func Serve(ctx context.Context, socketPath string, h Handler) error {
	ln, err := Listen(socketPath)
	if err != nil {
		return err
	}
	return (&Server{Handler: h}).Serve(ctx, ln)
}

// Server answers admin calls on a listener.
type Server struct {
	Handler Handler
	// Log receives one line per call (op, peer, outcome; never arguments).
	Log *slog.Logger
	// MaxRequestBytes bounds a request line (default MaxRequestBytes).
	MaxRequestBytes int64
	// Timeout bounds reading a request and, separately, running it and
	// writing the answer (default 1 minute).
	Timeout time.Duration
	// AllowUID decides which peers may talk (default: the server's own uid
	// and root). Peers whose credentials cannot be read are refused.
	AllowUID func(uid int) bool
}

// Serve accepts connections on ln until ctx ends, then closes ln (which
// removes the socket file) and waits for calls in flight.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.Handler == nil {
		return errors.New("admin: Server.Handler is nil")
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var err error
	for {
		var c net.Conn
		c, err = ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				err = nil
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				log.Warn("admin socket: accept", "err", err)
				time.Sleep(100 * time.Millisecond)
				continue
			}
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, c, log)
		}()
	}
	ln.Close()
	wg.Wait()
	return err
}

func (s *Server) serveConn(ctx context.Context, c net.Conn, log *slog.Logger) {
	defer c.Close()
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	limit := s.MaxRequestBytes
	if limit <= 0 {
		limit = MaxRequestBytes
	}
	allow := s.AllowUID
	if allow == nil {
		me := os.Getuid()
		allow = func(uid int) bool { return uid == me || uid == 0 }
	}
	peer, err := peerCred(c)
	if err != nil || !allow(peer.UID) {
		log.Warn("admin socket: peer refused", "uid", peer.UID, "pid", peer.PID, "err", err)
		writeResponse(c, timeout, &response{Error: "permission denied: only the user running authd (or root) may use its admin socket", Code: CodeForbidden})
		return
	}

	c.SetReadDeadline(time.Now().Add(timeout))
	line, err := readLine(c, limit)
	if err != nil {
		code := CodeInvalid
		var tl *tooLargeError
		if errors.As(err, &tl) {
			code = CodeTooLarge
		}
		writeResponse(c, timeout, &response{Error: err.Error(), Code: code})
		return
	}
	var req request
	if err := json.Unmarshal(line, &req); err != nil || req.Op == "" {
		writeResponse(c, timeout, &response{Error: "malformed admin request: want one JSON object with an \"op\"", Code: CodeInvalid})
		return
	}

	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	res, herr := s.Handler.ServeAdmin(cctx, &Request{Op: req.Op, Args: req.Args, Peer: peer})
	cancel()
	var resp response
	if herr != nil {
		ae := toError(herr)
		resp.Error, resp.Code = ae.Message, ae.Code
		log.Info("admin call failed", "op", req.Op, "peer_uid", peer.UID, "peer_pid", peer.PID, "code", ae.Code, "err", ae.Message, "took", time.Since(start))
	} else {
		b, err := json.Marshal(res)
		if err != nil {
			resp.Error, resp.Code = "encoding the result: "+err.Error(), CodeInternal
		} else {
			resp.Result = b
		}
		log.Info("admin call", "op", req.Op, "peer_uid", peer.UID, "peer_pid", peer.PID, "took", time.Since(start))
	}
	writeResponse(c, timeout, &resp)
}

// tooLargeError reports a request over the server's size limit.
type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("admin request larger than %d bytes", e.limit)
}

// readLine reads one newline-terminated line (or everything up to EOF) of
// at most limit bytes. A longer request is read to its end and discarded,
// so the client, still writing, gets the answer instead of a reset.
func readLine(r io.Reader, limit int64) ([]byte, error) {
	br := bufio.NewReader(r)
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if int64(len(line)+len(chunk)) > limit {
			line = nil
			if err == bufio.ErrBufferFull {
				for err == bufio.ErrBufferFull {
					_, err = br.ReadSlice('\n')
				}
			}
			return nil, &tooLargeError{limit}
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading the admin request: %w", err)
		}
		break
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, errors.New("empty admin request")
	}
	return line, nil
}

func writeResponse(c net.Conn, timeout time.Duration, r *response) {
	b, err := json.Marshal(r)
	if err != nil {
		b = []byte(`{"error":"internal error encoding the response","code":"internal"}`)
	}
	c.SetWriteDeadline(time.Now().Add(timeout))
	c.Write(append(b, '\n'))
}
