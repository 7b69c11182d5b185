package nodes

import (
	"context"

	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
)

// DeviceProfileConfig are the settings of a device_profile node.
type DeviceProfileConfig struct {
	// Location also records device_location.
	Location bool `hcl:"location,optional"`
}

// State keys device_profile writes.
const (
	stateDeviceUserAgent = "device_user_agent"
	stateDeviceIP        = "device_ip"
	stateDeviceLocation  = "device_location"
)

func init() {
	engine.Register(&engine.NodeType{
		Name:      "device_profile",
		Summary:   "records the client's user agent, IP address and optionally location into state",
		Config:    func() any { return &DeviceProfileConfig{} },
		Outcomes:  engine.FixedOutcomes("next"),
		New:       newDeviceProfile,
		Provides:  providesNothing,
		StateKeys: deviceProfileStateKeys,
		Warnings:  deviceProfileWarnings,
	})
}

func deviceProfileStateKeys(cfg any) []string {
	c := settingsOr(cfg, func() *DeviceProfileConfig { return &DeviceProfileConfig{} })
	if c.Location {
		return []string{stateDeviceUserAgent, stateDeviceIP, stateDeviceLocation}
	}
	return []string{stateDeviceUserAgent, stateDeviceIP}
}

func deviceProfileWarnings(cfg any) []*engine.SettingError {
	c := settingsOr(cfg, func() *DeviceProfileConfig { return &DeviceProfileConfig{} })
	if c.Location {
		return []*engine.SettingError{warning("location", "no front end reports a location yet: state.%s stays null", stateDeviceLocation)}
	}
	return nil
}

func newDeviceProfile(cfg any) (engine.Node, error) {
	c, err := settings[DeviceProfileConfig](cfg)
	if err != nil {
		return nil, err
	}
	return &deviceProfile{location: c.Location}, nil
}

// deviceProfile copies what the front end knows about the client into the
// shared state, where later nodes (push_sender's share_context, conditions,
// set_state) and the audit read it:
//
//   - device_user_agent: request.user_agent (string, "" when unknown)
//   - device_ip: request.client_ip (string, "" when unknown)
//   - device_location: only with location = true; null until a front end
//     reports a location (engine.Request has no such field yet)
type deviceProfile struct{ location bool }

// Process implements engine.Node.
func (n *deviceProfile) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	r := request(nc)
	nc.SetState(stateDeviceUserAgent, cty.StringVal(r.UserAgent))
	nc.SetState(stateDeviceIP, cty.StringVal(r.ClientIP))
	if n.location {
		nc.DeleteState(stateDeviceLocation)
	}
	return engine.Next("next"), nil
}

var _ engine.Node = (*deviceProfile)(nil)
