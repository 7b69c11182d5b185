package nodes

import (
	"context"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/engine"
)

// InnerJourneyConfig are the settings of an inner_journey node.
type InnerJourneyConfig struct {
	// Journey names the journey to run, as journey.NAME.
	Journey hcl.Expression `hcl:"journey"`
}

// ReferenceSettings tells dsl that `journey` names a journey block rather
// than being a runtime expression.
func (*InnerJourneyConfig) ReferenceSettings() map[string]string {
	return map[string]string{"journey": "journey"}
}

func init() {
	engine.Register(&engine.NodeType{
		Name:      "inner_journey",
		Summary:   "runs another journey and continues with its end as the outcome",
		Config:    func() any { return &InnerJourneyConfig{} },
		Outcomes:  engine.FixedOutcomes("success", "failure"),
		New:       newInnerJourney,
		Provides:  providesNothing,
		StateKeys: noStateKeys,
	})
}

// InnerJourneyTarget returns the name of the journey an inner_journey node
// runs, from its decoded settings, with a diagnostic at the setting when it
// is not journey.NAME. dsl uses it to resolve the edge and to detect
// recursion between journeys.
func InnerJourneyTarget(cfg any) (string, hcl.Diagnostics) {
	c, err := settings[InnerJourneyConfig](cfg)
	if err != nil {
		return "", hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid inner_journey settings", Detail: err.Error()}}
	}
	return Reference(c.Journey, "journey", "journey")
}

func newInnerJourney(cfg any) (engine.Node, error) {
	name, diags := InnerJourneyTarget(cfg)
	if diags.HasErrors() {
		return nil, &engine.SettingError{Setting: "journey", Message: diagMessage(diags)}
	}
	return &innerJourney{target: name}, nil
}

// innerJourney hands over to another journey of the program: the engine
// runs it with the same session (user, shared state) and comes back with
// its terminal, success or failure, as this node's outcome.
type innerJourney struct{ target string }

// Process implements engine.Node.
func (n *innerJourney) Process(context.Context, *engine.Context) (engine.Result, error) {
	return engine.Result{Enter: n.target}, nil
}

var _ engine.Node = (*innerJourney)(nil)
