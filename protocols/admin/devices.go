package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/devices"
)

// The device operations' arguments and results (device.list,
// device.delete). They are a wire format: fields only grow.
type (
	// DeviceDeleteArgs are the arguments of device.delete: one device by
	// id, or every device of the user when ID is empty.
	DeviceDeleteArgs struct {
		Realm string `json:"realm"`
		Name  string `json:"name"`
		ID    string `json:"id,omitempty"`
	}
	// DeviceDeleteResult is the answer of device.delete.
	DeviceDeleteResult struct {
		Deleted int `json:"deleted"`
	}
	// DeviceInfo is a push device as listed: never its key or push token.
	DeviceInfo struct {
		ID         string     `json:"id"`
		Name       string     `json:"name,omitempty"`
		Platform   string     `json:"platform"`
		Provider   string     `json:"provider"`
		AppID      string     `json:"app_id,omitempty"`
		Created    time.Time  `json:"created"`
		LastUsed   *time.Time `json:"last_used,omitempty"`
		Dead       bool       `json:"dead,omitempty"`
		DeadReason string     `json:"dead_reason,omitempty"`
	}
	// DeviceList is the answer of device.list.
	DeviceList struct {
		Devices []DeviceInfo `json:"devices"`
	}
)

// DeviceService implements the device.* ops over the push device store,
// in `authd run` behind the socket and in the CLI when it opens the store
// itself.
type DeviceService struct {
	Devices *devices.Store
	// Realms lists the declared realms; nil means "not checked".
	Realms func() []string
	// Audit receives a device_removed entry per deletion (nil: none).
	Audit audit.Logger
	// Frontend names where the call came from in those entries
	// ("admin" or "cli").
	Frontend string
}

// Register adds device.list and device.delete to m.
func (s *DeviceService) Register(m *Mux) {
	m.Handle("device.list", Typed(s.list))
	m.Handle("device.delete", Typed(s.delete))
}

func (s *DeviceService) ref(realm, name string) error {
	if err := (&UserService{Realms: s.Realms}).checkRealm(realm); err != nil {
		return err
	}
	return CheckUserName(name)
}

func (s *DeviceService) list(_ context.Context, a UserRef) (DeviceList, error) {
	if err := s.ref(a.Realm, a.Name); err != nil {
		return DeviceList{}, err
	}
	ds, err := s.Devices.Devices(a.Realm, a.Name)
	if err != nil {
		return DeviceList{}, err
	}
	out := DeviceList{Devices: []DeviceInfo{}}
	for _, d := range ds {
		info := DeviceInfo{ID: d.ID, Name: d.Name, Platform: d.Platform, Provider: d.Provider, AppID: d.AppID,
			Created: d.Created, Dead: d.Dead, DeadReason: d.DeadReason}
		if !d.LastUsed.IsZero() {
			t := d.LastUsed
			info.LastUsed = &t
		}
		out.Devices = append(out.Devices, info)
	}
	return out, nil
}

func (s *DeviceService) delete(ctx context.Context, a DeviceDeleteArgs) (DeviceDeleteResult, error) {
	if err := s.ref(a.Realm, a.Name); err != nil {
		return DeviceDeleteResult{}, err
	}
	if a.ID == "" {
		ds, err := s.Devices.Devices(a.Realm, a.Name)
		if err != nil {
			return DeviceDeleteResult{}, err
		}
		n, err := s.Devices.DeleteDevices(a.Realm, a.Name)
		if err != nil {
			return DeviceDeleteResult{}, err
		}
		if n == 0 {
			return DeviceDeleteResult{}, Errorf(CodeNotFound, "user %q of realm %q has no push device", a.Name, a.Realm)
		}
		ids := make([]string, 0, len(ds))
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		s.removed(ctx, a, fmt.Sprintf("%d push devices removed by an administrator", n), strings.Join(ids, ","))
		return DeviceDeleteResult{Deleted: n}, nil
	}
	err := s.Devices.DeleteDevice(a.Realm, a.Name, a.ID)
	if errors.Is(err, devices.ErrNotFound) {
		return DeviceDeleteResult{}, Errorf(CodeNotFound, "user %q of realm %q has no device %q", a.Name, a.Realm, a.ID)
	}
	if err != nil {
		return DeviceDeleteResult{}, err
	}
	s.removed(ctx, a, "push device removed by an administrator", a.ID)
	return DeviceDeleteResult{Deleted: 1}, nil
}

func (s *DeviceService) removed(ctx context.Context, a DeviceDeleteArgs, reason, ids string) {
	if s.Audit == nil {
		return
	}
	s.Audit.Log(ctx, audit.Entry{Kind: audit.KindDeviceRemoved, Realm: a.Realm, User: a.Name, Frontend: s.Frontend,
		Result: audit.ResultSuccess, Reason: reason, Detail: map[string]string{"devices": ids}})
}
