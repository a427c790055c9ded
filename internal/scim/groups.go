package scim

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/onrecord/onrecord/internal/meta"
)

func (s *Server) groupResource(g meta.GroupState) map[string]any {
	members := []map[string]any{}
	for _, m := range g.Members {
		e := map[string]any{"value": m, "$ref": s.base + "/Users/" + m, "type": "User"}
		if p, ok := s.dir.Person(m); ok {
			e["display"] = p.Name()
		}
		members = append(members, e)
	}
	out := map[string]any{
		"schemas": []string{SchemaGroup}, "id": g.ID, "displayName": g.DisplayName, "members": members,
		"meta": map[string]any{"resourceType": "Group", "created": g.Created.Format(time.RFC3339), "lastModified": g.Modified.Format(time.RFC3339),
			"location": s.base + "/Groups/" + g.ID, "version": fmt.Sprintf(`W/"%d"`, g.Modified.UnixNano())},
	}
	if g.ExternalID != "" {
		out["externalId"] = g.ExternalID
	}
	return out
}

// memberIDs reads a members value: [{"value": id}, ...].
func memberIDs(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		if v == nil {
			return nil, nil
		}
		return nil, errors.New("members must be a list of {value}")
	}
	var out []string
	for _, e := range list {
		m, _ := e.(map[string]any)
		id := str(m["value"])
		if id == "" {
			return nil, errors.New("a member without a value")
		}
		out = append(out, id)
	}
	return out, nil
}

func applyGroup(g *meta.GroupState, body map[string]any) error {
	for k, v := range body {
		switch strings.ToLower(k) {
		case "displayname":
			g.DisplayName = str(v)
		case "externalid":
			g.ExternalID = str(v)
		case "members":
			ids, err := memberIDs(v)
			if err != nil {
				return err
			}
			g.Members = ids
		}
	}
	return nil
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := decode(r, &body); err != nil {
		s.fail(w, http.StatusBadRequest, "invalidSyntax", err.Error())
		return
	}
	var g meta.GroupState
	if err := applyGroup(&g, body); err != nil {
		s.fail(w, http.StatusBadRequest, "invalidValue", err.Error())
		return
	}
	out, err := s.dir.PutGroup(r.Context(), actor, g)
	if err != nil {
		s.failErr(w, err)
		return
	}
	w.Header().Set("Location", s.base+"/Groups/"+out.ID)
	writeSCIM(w, http.StatusCreated, s.groupResource(out))
}

func (s *Server) getGroup(w http.ResponseWriter, id string) {
	g, ok := s.dir.Group(id)
	if !ok {
		s.fail(w, http.StatusNotFound, "", "no group "+id)
		return
	}
	writeSCIM(w, http.StatusOK, s.groupResource(g))
}

func (s *Server) replaceGroup(w http.ResponseWriter, r *http.Request, id string) {
	g, ok := s.dir.Group(id)
	if !ok {
		s.fail(w, http.StatusNotFound, "", "no group "+id)
		return
	}
	var body map[string]any
	if err := decode(r, &body); err != nil {
		s.fail(w, http.StatusBadRequest, "invalidSyntax", err.Error())
		return
	}
	g.Members = nil
	if err := applyGroup(&g, body); err != nil {
		s.fail(w, http.StatusBadRequest, "invalidValue", err.Error())
		return
	}
	out, err := s.dir.PutGroup(r.Context(), actor, g)
	if err != nil {
		s.failErr(w, err)
		return
	}
	writeSCIM(w, http.StatusOK, s.groupResource(out))
}

func (s *Server) patchGroup(w http.ResponseWriter, r *http.Request, id string) {
	g, ok := s.dir.Group(id)
	if !ok {
		s.fail(w, http.StatusNotFound, "", "no group "+id)
		return
	}
	var req patchRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, http.StatusBadRequest, "invalidSyntax", err.Error())
		return
	}
	if !slices.Contains(req.Schemas, schemaPatch) {
		s.fail(w, http.StatusBadRequest, "invalidSyntax", "schemas must include "+schemaPatch)
		return
	}
	for _, op := range req.Operations {
		path := strings.ToLower(op.Path)
		var err error
		switch o := strings.ToLower(op.Op); {
		case (o == "add" || o == "replace") && path == "":
			m, ok := op.Value.(map[string]any)
			if !ok {
				err = errors.New("a patch without a path needs an object value")
			} else if o == "add" {
				// add merges members rather than replacing them.
				if v, has := m["members"]; has {
					ids, e := memberIDs(v)
					err = e
					for _, id := range ids {
						if !slices.Contains(g.Members, id) {
							g.Members = append(g.Members, id)
						}
					}
					delete(m, "members")
				}
				if err == nil {
					err = applyGroup(&g, m)
				}
			} else {
				err = applyGroup(&g, m)
			}
		case o == "add" && path == "members":
			var ids []string
			ids, err = memberIDs(op.Value)
			for _, id := range ids {
				if !slices.Contains(g.Members, id) {
					g.Members = append(g.Members, id)
				}
			}
		case o == "replace" && path == "members":
			g.Members, err = memberIDs(op.Value)
		case o == "replace" && (path == "displayname" || path == "externalid"):
			err = applyGroup(&g, map[string]any{op.Path: op.Value})
		case o == "remove" && path == "members":
			// Remove with a value list (Okta) or all members.
			if op.Value == nil {
				g.Members = nil
				break
			}
			var ids []string
			ids, err = memberIDs(op.Value)
			g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return slices.Contains(ids, m) })
		case o == "remove" && strings.HasPrefix(path, "members["):
			// Entra ID: members[value eq "id"].
			var f filter
			f, err = parseFilter(op.Path)
			if err == nil {
				g.Members = slices.DeleteFunc(g.Members, func(m string) bool {
					return f.match(func(p string) []string {
						if p == "members.value" {
							return []string{m}
						}
						return nil
					})
				})
			}
		default:
			s.fail(w, http.StatusBadRequest, "invalidPath", fmt.Sprintf("op %q on path %q is not supported for groups", op.Op, op.Path))
			return
		}
		if err != nil {
			s.fail(w, http.StatusBadRequest, "invalidValue", err.Error())
			return
		}
	}
	out, err := s.dir.PutGroup(r.Context(), actor, g)
	if err != nil {
		s.failErr(w, err)
		return
	}
	writeSCIM(w, http.StatusOK, s.groupResource(out))
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request, id string) {
	if err := s.dir.DeleteGroup(r.Context(), actor, id); err != nil {
		s.failErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func groupValues(g meta.GroupState) func(string) []string {
	return func(path string) []string {
		switch path {
		case "id":
			return []string{g.ID}
		case "displayname":
			return []string{g.DisplayName}
		case "externalid":
			return []string{g.ExternalID}
		case "members.value", "members":
			return g.Members
		}
		return nil
	}
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
	f, ok := s.queryFilter(w, r)
	if !ok {
		return
	}
	// Entra asks for groups without members (excludedAttributes=members).
	exclude := strings.Contains(strings.ToLower(r.URL.Query().Get("excludedAttributes")), "members")
	var out []any
	for _, g := range s.dir.Groups() {
		if f == nil || f.match(groupValues(g)) {
			res := s.groupResource(g)
			if exclude {
				delete(res, "members")
			}
			out = append(out, res)
		}
	}
	s.list(w, r, out)
}
