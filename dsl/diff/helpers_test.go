package diff

import (
	"time"

	"github.com/authd/authd/nodes"
)

func parseDur(s string) (time.Duration, error) { return nodes.ParseDuration(s) }
