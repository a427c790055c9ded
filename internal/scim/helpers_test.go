package scim

import (
	"encoding/json"
	"slices"

	"github.com/onrecord/onrecord"
)

func personFor(user, role, manager string) onrecord.Person {
	return onrecord.Person{UserName: user + "@example.com", Role: role, Manager: manager, Active: true, Official: true}
}

func groupNamed(name string, members ...string) onrecord.Group {
	return onrecord.Group{DisplayName: name, Members: members}
}

func contains(s []string, x string) bool { return slices.Contains(s, x) }

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
