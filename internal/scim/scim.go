// Package scim provisions the directory over SCIM 2.0 (RFC 7643, 7644) in
// the shapes Microsoft Entra ID's provisioning service and Okta send:
// Users and Groups with create, get, list with filters, PUT, PATCH
// (add/replace/remove, with and without paths, Entra's capitalised ops and
// "True"/"False" strings) and DELETE, behind a bearer token.
package scim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/meta"
)

// Schema URNs.
const (
	SchemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// SchemaOnrecord carries what the core schemas have no field for:
	// role, seniority, official status and channel identities. Map them
	// from directory attributes in the provisioning app.
	SchemaOnrecord = "urn:onrecord:params:scim:schemas:extension:2.0:User"
	schemaList     = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	schemaPatch    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	schemaError    = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// Server is the SCIM endpoint.
type Server struct {
	dir   *meta.Directory
	token [32]byte
	base  string
	log   *slog.Logger
}

// New returns a server for dir; base is the URL prefix resources are
// located under (public_url + "/scim/v2"). An empty token refuses every
// request.
func New(dir *meta.Directory, token, base string, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{dir: dir, base: strings.TrimRight(base, "/"), log: log}
	if token != "" {
		s.token = sha256.Sum256([]byte(token))
	}
	return s
}

// Register adds the routes under /scim/v2/ to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", s))
}

// ServeHTTP routes SCIM requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="onrecord-scim"`)
		s.fail(w, http.StatusUnauthorized, "", "a valid bearer token (scim_token) is required")
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	res, id := parts[0], ""
	if len(parts) > 1 {
		id = parts[1]
	}
	if len(parts) > 2 {
		s.fail(w, http.StatusNotFound, "", "no such resource")
		return
	}
	switch {
	case res == "ServiceProviderConfig" && r.Method == http.MethodGet:
		s.serviceProviderConfig(w)
	case res == "Users" && id == "" && r.Method == http.MethodGet:
		s.listUsers(w, r)
	case res == "Users" && id == "" && r.Method == http.MethodPost:
		s.createUser(w, r)
	case res == "Users" && id != "" && r.Method == http.MethodGet:
		s.getUser(w, id)
	case res == "Users" && id != "" && r.Method == http.MethodPut:
		s.replaceUser(w, r, id)
	case res == "Users" && id != "" && r.Method == http.MethodPatch:
		s.patchUser(w, r, id)
	case res == "Users" && id != "" && r.Method == http.MethodDelete:
		s.deleteUser(w, r, id)
	case res == "Groups" && id == "" && r.Method == http.MethodGet:
		s.listGroups(w, r)
	case res == "Groups" && id == "" && r.Method == http.MethodPost:
		s.createGroup(w, r)
	case res == "Groups" && id != "" && r.Method == http.MethodGet:
		s.getGroup(w, id)
	case res == "Groups" && id != "" && r.Method == http.MethodPut:
		s.replaceGroup(w, r, id)
	case res == "Groups" && id != "" && r.Method == http.MethodPatch:
		s.patchGroup(w, r, id)
	case res == "Groups" && id != "" && r.Method == http.MethodDelete:
		s.deleteGroup(w, r, id)
	default:
		s.fail(w, http.StatusNotFound, "", "no such resource or method")
	}
}

func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" || s.token == ([32]byte{}) {
		return false
	}
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], s.token[:]) == 1
}

func (s *Server) fail(w http.ResponseWriter, status int, scimType, detail string) {
	body := map[string]any{"schemas": []string{schemaError}, "status": strconv.Itoa(status), "detail": detail}
	if scimType != "" {
		body["scimType"] = scimType
	}
	writeSCIM(w, status, body)
}

// failErr maps a directory error to its SCIM status.
func (s *Server) failErr(w http.ResponseWriter, err error) {
	switch onrecord.ErrorCode(err) {
	case onrecord.ECONFLICT:
		s.fail(w, http.StatusConflict, "uniqueness", err.Error())
	case onrecord.EINVALID:
		s.fail(w, http.StatusBadRequest, "invalidValue", err.Error())
	case onrecord.ENOTFOUND:
		s.fail(w, http.StatusNotFound, "", err.Error())
	default:
		s.log.Error("scim: directory change not recorded", "err", err)
		s.fail(w, http.StatusServiceUnavailable, "", "the change could not be recorded; retry")
	}
}

func writeSCIM(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("body is not valid JSON: %w", err)
	}
	return nil
}

func (s *Server) serviceProviderConfig(w http.ResponseWriter) {
	writeSCIM(w, http.StatusOK, map[string]any{
		"schemas":        []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"patch":          map[string]bool{"supported": true},
		"bulk":           map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":         map[string]any{"supported": true, "maxResults": 200},
		"changePassword": map[string]bool{"supported": false},
		"sort":           map[string]bool{"supported": false},
		"etag":           map[string]bool{"supported": false},
		"authenticationSchemes": []map[string]any{{"type": "oauthbearertoken", "name": "Bearer token",
			"description": "The scim_token from onrecord's configuration"}},
	})
}

// actor names who made a change in the record.
const actor = "scim"

// ---- users ----

// userResource is the SCIM representation of a person.
func (s *Server) userResource(p onrecord.Person) map[string]any {
	u := map[string]any{
		"schemas":     []string{SchemaUser, SchemaEnterprise, SchemaOnrecord},
		"id":          p.ID,
		"userName":    p.UserName,
		"active":      p.Active,
		"displayName": p.DisplayName,
		"name":        map[string]any{"givenName": p.GivenName, "familyName": p.FamilyName, "formatted": strings.TrimSpace(p.GivenName + " " + p.FamilyName)},
		"meta": map[string]any{"resourceType": "User", "created": p.Created.Format(time.RFC3339), "lastModified": p.Modified.Format(time.RFC3339),
			"location": s.base + "/Users/" + p.ID, "version": fmt.Sprintf(`W/"%d"`, p.Modified.UnixNano())},
	}
	if p.ExternalID != "" {
		u["externalId"] = p.ExternalID
	}
	if p.Title != "" {
		u["title"] = p.Title
	}
	if p.Email != "" {
		u["emails"] = []map[string]any{{"value": p.Email, "type": "work", "primary": true}}
	}
	ent := map[string]any{}
	if p.Department != "" {
		ent["department"] = p.Department
	}
	if p.Manager != "" {
		ent["manager"] = map[string]any{"value": p.Manager}
	}
	u[SchemaEnterprise] = ent
	ids := []map[string]string{}
	for _, id := range p.Identities {
		ids = append(ids, map[string]string{"channel": id.Channel, "address": id.Address})
	}
	u[SchemaOnrecord] = map[string]any{"role": p.Role, "seniority": p.Seniority, "official": p.Official, "identities": ids}
	return u
}

// applyUser sets a person's attributes from a full SCIM User object (POST,
// PUT, or a PATCH without a path).
func applyUser(p *onrecord.Person, u map[string]any, replace bool) error {
	if replace {
		keep := *p
		*p = onrecord.Person{ID: keep.ID, Created: keep.Created, Active: true, Official: true}
	}
	for k, v := range u {
		if err := setUserAttr(p, k, v); err != nil {
			return err
		}
	}
	return nil
}

// setUserAttr sets one attribute by SCIM path (case-insensitive).
func setUserAttr(p *onrecord.Person, path string, v any) error {
	lp := strings.ToLower(path)
	entPrefix := strings.ToLower(SchemaEnterprise) + ":"
	orPrefix := strings.ToLower(SchemaOnrecord) + ":"
	switch {
	case lp == "schemas" || lp == "id" || lp == "meta":
		return nil
	case lp == "username":
		p.UserName = str(v)
	case lp == "externalid":
		p.ExternalID = str(v)
	case lp == "displayname":
		p.DisplayName = str(v)
	case lp == "title":
		p.Title = str(v)
	case lp == "active":
		b, err := boolish(v)
		if err != nil {
			return fmt.Errorf("active: %w", err)
		}
		p.Active = b
	case lp == "name":
		m, _ := v.(map[string]any)
		for k, x := range m {
			if err := setUserAttr(p, "name."+k, x); err != nil {
				return err
			}
		}
	case lp == "name.givenname":
		p.GivenName = str(v)
	case lp == "name.familyname":
		p.FamilyName = str(v)
	case lp == "name.formatted":
		if p.GivenName == "" && p.FamilyName == "" && p.DisplayName == "" {
			p.DisplayName = str(v)
		}
	case lp == "emails":
		list, _ := v.([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			if p.Email == "" || m["primary"] == true || strings.EqualFold(str(m["primary"]), "true") || str(m["type"]) == "work" {
				p.Email = str(m["value"])
			}
		}
	case strings.HasPrefix(lp, "emails[") && strings.HasSuffix(lp, "].value"):
		p.Email = str(v)
	case lp == strings.ToLower(SchemaEnterprise):
		m, _ := v.(map[string]any)
		for k, x := range m {
			if err := setUserAttr(p, SchemaEnterprise+":"+k, x); err != nil {
				return err
			}
		}
	case lp == entPrefix+"department":
		p.Department = str(v)
	case lp == entPrefix+"manager":
		// Entra sends the manager's id as a string, Okta and the RFC as
		// {"value": id}.
		if m, ok := v.(map[string]any); ok {
			p.Manager = str(m["value"])
		} else {
			p.Manager = str(v)
		}
	case lp == strings.ToLower(SchemaOnrecord):
		m, _ := v.(map[string]any)
		for k, x := range m {
			if err := setUserAttr(p, SchemaOnrecord+":"+k, x); err != nil {
				return err
			}
		}
	case lp == orPrefix+"role":
		p.Role = str(v)
	case lp == orPrefix+"seniority":
		p.Seniority = str(v)
	case lp == orPrefix+"official":
		b, err := boolish(v)
		if err != nil {
			return fmt.Errorf("official: %w", err)
		}
		p.Official = b
	case lp == orPrefix+"identities":
		list, _ := v.([]any)
		p.Identities = nil
		for _, e := range list {
			m, _ := e.(map[string]any)
			id := onrecord.Identity{Channel: str(m["channel"]), Address: str(m["address"])}
			if id.Channel == "" || id.Address == "" {
				return errors.New("identities: each needs channel and address")
			}
			p.Identities = append(p.Identities, id)
		}
	default:
		// Attributes onrecord does not keep (phone numbers, addresses,
		// locale...) are accepted and ignored, as provisioning apps map
		// many by default.
	}
	return nil
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// boolish accepts JSON booleans and the "True"/"False" strings Entra ID
// sends in PATCH values.
func boolish(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		return strconv.ParseBool(strings.ToLower(x))
	}
	return false, fmt.Errorf("%v is not a boolean", v)
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var u map[string]any
	if err := decode(r, &u); err != nil {
		s.fail(w, http.StatusBadRequest, "invalidSyntax", err.Error())
		return
	}
	p := onrecord.Person{Active: true, Official: true}
	if err := applyUser(&p, u, false); err != nil {
		s.fail(w, http.StatusBadRequest, "invalidValue", err.Error())
		return
	}
	p.ID = ""
	out, err := s.dir.PutPerson(r.Context(), actor, p)
	if err != nil {
		s.failErr(w, err)
		return
	}
	w.Header().Set("Location", s.base+"/Users/"+out.ID)
	writeSCIM(w, http.StatusCreated, s.userResource(out))
}

func (s *Server) getUser(w http.ResponseWriter, id string) {
	p, ok := s.dir.Person(id)
	if !ok {
		s.fail(w, http.StatusNotFound, "", "no user "+id)
		return
	}
	writeSCIM(w, http.StatusOK, s.userResource(p))
}

func (s *Server) replaceUser(w http.ResponseWriter, r *http.Request, id string) {
	p, ok := s.dir.Person(id)
	if !ok {
		s.fail(w, http.StatusNotFound, "", "no user "+id)
		return
	}
	var u map[string]any
	if err := decode(r, &u); err != nil {
		s.fail(w, http.StatusBadRequest, "invalidSyntax", err.Error())
		return
	}
	if err := applyUser(&p, u, true); err != nil {
		s.fail(w, http.StatusBadRequest, "invalidValue", err.Error())
		return
	}
	out, err := s.dir.PutPerson(r.Context(), actor, p)
	if err != nil {
		s.failErr(w, err)
		return
	}
	writeSCIM(w, http.StatusOK, s.userResource(out))
}

type patchRequest struct {
	Schemas    []string `json:"schemas"`
	Operations []struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	} `json:"Operations"`
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request, id string) {
	p, ok := s.dir.Person(id)
	if !ok {
		s.fail(w, http.StatusNotFound, "", "no user "+id)
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
		var err error
		switch strings.ToLower(op.Op) {
		case "add", "replace":
			if op.Path == "" {
				m, ok := op.Value.(map[string]any)
				if !ok {
					err = errors.New("a patch without a path needs an object value")
				} else {
					err = applyUser(&p, m, false)
				}
			} else {
				err = setUserAttr(&p, op.Path, op.Value)
			}
		case "remove":
			if op.Path == "" {
				s.fail(w, http.StatusBadRequest, "noTarget", "remove needs a path")
				return
			}
			err = setUserAttr(&p, op.Path, zeroFor(op.Path))
		default:
			s.fail(w, http.StatusBadRequest, "invalidSyntax", fmt.Sprintf("op %q is not add, replace or remove", op.Op))
			return
		}
		if err != nil {
			s.fail(w, http.StatusBadRequest, "invalidValue", err.Error())
			return
		}
	}
	out, err := s.dir.PutPerson(r.Context(), actor, p)
	if err != nil {
		s.failErr(w, err)
		return
	}
	writeSCIM(w, http.StatusOK, s.userResource(out))
}

// zeroFor is the value a removed attribute takes.
func zeroFor(path string) any {
	switch strings.ToLower(path) {
	case "active", strings.ToLower(SchemaOnrecord) + ":official":
		return false
	case strings.ToLower(SchemaOnrecord) + ":identities", "emails":
		return []any{}
	}
	return ""
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, id string) {
	if err := s.dir.DeletePerson(r.Context(), actor, id); err != nil {
		s.failErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// userValues returns a person's values for a lower-case filter path.
func userValues(p onrecord.Person) func(string) []string {
	return func(path string) []string {
		switch path {
		case "id":
			return []string{p.ID}
		case "username":
			return []string{p.UserName}
		case "externalid":
			return []string{p.ExternalID}
		case "displayname":
			return []string{p.DisplayName}
		case "active":
			return []string{strconv.FormatBool(p.Active)}
		case "name.givenname":
			return []string{p.GivenName}
		case "name.familyname":
			return []string{p.FamilyName}
		case "emails", "emails.value":
			return []string{p.Email}
		case "emails.type":
			return []string{"work"}
		case "title":
			return []string{p.Title}
		case strings.ToLower(SchemaEnterprise) + ":department", "department":
			return []string{p.Department}
		}
		return nil
	}
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	f, ok := s.queryFilter(w, r)
	if !ok {
		return
	}
	var out []any
	for _, p := range s.dir.People() {
		if f == nil || f.match(userValues(p)) {
			out = append(out, s.userResource(p))
		}
	}
	s.list(w, r, out)
}

// queryFilter parses the request's ?filter= (nil when absent), answering
// 400 invalidFilter itself when it does not parse.
func (s *Server) queryFilter(w http.ResponseWriter, r *http.Request) (filter, bool) {
	q := r.URL.Query().Get("filter")
	if q == "" {
		return nil, true
	}
	f, err := parseFilter(q)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "invalidFilter", err.Error())
		return nil, false
	}
	return f, true
}

// list writes a ListResponse page (startIndex is 1-based).
func (s *Server) list(w http.ResponseWriter, r *http.Request, all []any) {
	start, count := 1, 100
	if v, err := strconv.Atoi(r.URL.Query().Get("startIndex")); err == nil && v > 1 {
		start = v
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("count")); err == nil && v >= 0 {
		count = min(v, 200)
	}
	page := []any{}
	if start-1 < len(all) {
		page = all[start-1 : min(len(all), start-1+count)]
	}
	writeSCIM(w, http.StatusOK, map[string]any{"schemas": []string{schemaList}, "totalResults": len(all),
		"startIndex": start, "itemsPerPage": len(page), "Resources": page})
}
