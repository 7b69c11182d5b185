package memstore_test

import (
	"testing"

	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.KV { return memstore.New() })
}
