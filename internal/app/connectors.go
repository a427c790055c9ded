package app

import (
	"fmt"

	"github.com/onrecord/onrecord/internal/connector"
	"github.com/onrecord/onrecord/internal/connector/signal"
	"github.com/onrecord/onrecord/internal/connector/slack"
	"github.com/onrecord/onrecord/internal/connector/telegram"
	"github.com/onrecord/onrecord/internal/connector/twilio"
	"github.com/onrecord/onrecord/internal/connector/whatsapp"
)

// newConnector builds the connector of a channel's type. The set of types
// here is the set config.Validate accepts.
func newConnector(c connector.Config) (connector.Connector, error) {
	switch c.Type {
	case "whatsapp":
		return whatsapp.New(c)
	case "twilio":
		return twilio.New(c)
	case "telegram":
		return telegram.New(c)
	case "slack":
		return slack.New(c)
	case "signal":
		return signal.New(c)
	}
	return nil, fmt.Errorf("type %q has no connector in this build", c.Type)
}
