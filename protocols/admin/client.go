package admin

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Client calls a running server's admin socket.
type Client struct {
	path string
	// Timeout bounds one call, connecting included (default 2 minutes:
	// an import of many users may take a while).
	Timeout time.Duration
	conn    net.Conn // kept from Dial for the first call
}

// Dial connects to the admin socket at path, so a caller learns at once
// whether a server answers there.
func Dial(socketPath string) (*Client, error) {
	c, err := net.DialTimeout("unix", socketPath, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", socketPath, unwrapOpError(err))
	}
	return &Client{path: socketPath, conn: c}, nil
}

// Close releases a connection Dial opened and no call used.
func (c *Client) Close() error {
	if c.conn != nil {
		err := c.conn.Close()
		c.conn = nil
		return err
	}
	return nil
}

// Call runs op with arguments in (encoded as JSON) and decodes the result
// into out (nil: ignore it). A failure reported by the server comes back as
// an *Error carrying the server's one-line message.
func (c *Client) Call(op string, in, out any) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	args, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("admin: encoding %s arguments: %w", op, err)
	}
	line, err := json.Marshal(request{Op: op, Args: args})
	if err != nil {
		return fmt.Errorf("admin: encoding %s: %w", op, err)
	}
	conn := c.conn
	c.conn = nil
	if conn == nil {
		conn, err = net.DialTimeout("unix", c.path, 2*time.Second)
		if err != nil {
			return fmt.Errorf("admin socket %s: %w", c.path, unwrapOpError(err))
		}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	_, werr := conn.Write(append(line, '\n'))
	// Even when the write failed, the server may have answered before it
	// closed (a refused peer, a request too large): read that answer.
	br := bufio.NewReader(io.LimitReader(conn, maxResponseBytes))
	b, err := br.ReadBytes('\n')
	if err != nil && !(errors.Is(err, io.EOF) && len(b) > 0) {
		if werr != nil {
			return fmt.Errorf("admin socket %s: sending %s: %w", c.path, op, unwrapOpError(werr))
		}
		return fmt.Errorf("admin socket %s: no answer to %s: %w", c.path, op, unwrapOpError(err))
	}
	var resp response
	if err := json.Unmarshal(b, &resp); err != nil {
		return fmt.Errorf("admin socket %s: malformed answer to %s", c.path, op)
	}
	if resp.Error != "" {
		return &Error{Code: resp.Code, Message: resp.Error}
	}
	if out == nil || len(resp.Result) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.Result, out); err != nil {
		return fmt.Errorf("admin: decoding %s result: %w", op, err)
	}
	return nil
}

// unwrapOpError drops net.OpError's "dial unix /path:" prefix, which would
// repeat the path the caller already names.
func unwrapOpError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}
