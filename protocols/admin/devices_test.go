package admin_test

import (
	"errors"
	"testing"
	"time"

	"github.com/authd/authd/engine/devices"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/protocols/admin"
)

func TestDeviceOps(t *testing.T) {
	ds := devices.New(memstore.New())
	now := time.Now().UTC()
	for i := 0; i < 2; i++ {
		e := &devices.Enrollment{ID: devices.NewID(9), Realm: "corp", User: "alice", Mode: devices.MultipleDevices,
			Providers: map[string]string{"poll": "poll"}, Expires: now.Add(time.Minute), State: devices.EnrollPending}
		if err := ds.CreateEnrollment(e); err != nil {
			t.Fatal(err)
		}
		d := &devices.Device{ID: []string{"dev-a", "dev-b"}[i], Platform: "poll", Provider: "poll", PushToken: "secret-token", PublicKey: []byte{1}}
		if _, _, err := ds.CompleteEnrollment(e.ID, now, func(*devices.Enrollment) error { return nil }, d); err != nil {
			t.Fatal(err)
		}
	}
	m := admin.NewMux()
	(&admin.DeviceService{Devices: ds, Realms: func() []string { return []string{"corp"} }}).Register(m)
	c := admin.Local(m)
	var list admin.DeviceList
	if err := c.Call("device.list", admin.UserRef{Realm: "corp", Name: "alice"}, &list); err != nil || len(list.Devices) != 2 {
		t.Fatalf("list: %+v %v", list, err)
	}
	var ae *admin.Error
	if err := c.Call("device.list", admin.UserRef{Realm: "crop", Name: "alice"}, nil); !errors.As(err, &ae) || ae.Code != admin.CodeNotFound {
		t.Errorf("misspelt realm: %v", err)
	}
	var res admin.DeviceDeleteResult
	if err := c.Call("device.delete", admin.DeviceDeleteArgs{Realm: "corp", Name: "alice", ID: "dev-a"}, &res); err != nil || res.Deleted != 1 {
		t.Fatalf("delete one: %+v %v", res, err)
	}
	if err := c.Call("device.delete", admin.DeviceDeleteArgs{Realm: "corp", Name: "alice", ID: "dev-a"}, &res); !errors.As(err, &ae) || ae.Code != admin.CodeNotFound {
		t.Errorf("delete twice: %v", err)
	}
	if err := c.Call("device.delete", admin.DeviceDeleteArgs{Realm: "corp", Name: "alice"}, &res); err != nil || res.Deleted != 1 {
		t.Fatalf("delete all: %+v %v", res, err)
	}
	if err := c.Call("device.delete", admin.DeviceDeleteArgs{Realm: "corp", Name: "alice"}, &res); !errors.As(err, &ae) || ae.Code != admin.CodeNotFound {
		t.Errorf("delete none: %v", err)
	}
}
