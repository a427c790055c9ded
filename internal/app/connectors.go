package app

import (
	"fmt"

	"github.com/onrecord/onrecord/internal/connector"
)

// newConnector builds the connector of a channel's type.
func newConnector(c connector.Config) (connector.Connector, error) {
	switch c.Type {
	}
	return nil, fmt.Errorf("type %q has no connector in this build", c.Type)
}
