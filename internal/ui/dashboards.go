package ui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// The dashboards API, for the console's saved views:
//
//	GET    /api/dashboards        {"dashboards": [Dashboard…]} ordered by name
//	POST   /api/dashboards        create from a Dashboard (id optional) → 201 Dashboard
//	GET    /api/dashboards/{id}   Dashboard, or 404
//	PUT    /api/dashboards/{id}   replace → 200 Dashboard (created when absent)
//	DELETE /api/dashboards/{id}   204, or 404
//
// Errors are {"message": "..."} with status 400, 404, 413 or 500. Dashboards
// are stored with store.Objects under kind "dashboard". The first request
// finds the kind empty on a new store and saves the two examples,
// "engineering" and "executive"; deleting them later is final.

const (
	kindDashboard = "dashboard"
	kindUIMeta    = "ui-meta"
	maxBody       = 64 << 10
	maxPanels     = 24
)

// Dashboard is a saved view: a filter expression, a default time range and
// an ordered set of panels.
type Dashboard struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Filter      string    `json:"filter"`
	Range       string    `json:"range"`
	Panels      []Panel   `json:"panels"`
	Updated     time.Time `json:"updated"`
}

// Panel is one panel of a dashboard.
type Panel struct {
	Type  string `json:"type"`
	Title string `json:"title,omitempty"`
}

// panelTypes are the panels the console can draw (ui/src/panels.jsx, and
// "map" in ui/src/pages/dashboards.jsx).
var panelTypes = map[string]bool{
	"health": true, "percentiles": true, "latency": true, "heatmap": true, "services": true,
	"errors": true, "rootcauses": true, "slowest": true, "map": true,
}

// ranges are the console's presets (ui/src/timerange.js).
var ranges = map[string]bool{
	"5m": true, "15m": true, "1h": true, "3h": true, "6h": true, "12h": true, "1d": true, "3d": true, "7d": true, "30d": true,
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// Examples are the dashboards a new store starts with.
func Examples() []Dashboard {
	return []Dashboard{
		{
			ID: "engineering", Name: "Engineering", Range: "1h",
			Description: "Latency percentiles, the heat map, fault and error breakdowns by service and root cause, the slowest traces.",
			Panels: []Panel{{Type: "percentiles"}, {Type: "heatmap"}, {Type: "errors"}, {Type: "rootcauses"},
				{Type: "services"}, {Type: "slowest"}},
		},
		{
			ID: "executive", Name: "Executive", Range: "1d",
			Description: "Service health at a glance: volume, error and fault rates, p50/p99, and the service map.",
			Panels:      []Panel{{Type: "health"}, {Type: "map"}, {Type: "services", Title: "Service health"}},
		},
	}
}

func (d *Dashboard) validate() error {
	d.Name = strings.TrimSpace(d.Name)
	switch {
	case d.Name == "":
		return errors.New("name is required")
	case utf8.RuneCountInString(d.Name) > 200:
		return errors.New("name is longer than 200 characters")
	case utf8.RuneCountInString(d.Description) > 1000:
		return errors.New("description is longer than 1000 characters")
	case len(d.Filter) > 2000:
		return errors.New("filter is longer than 2000 bytes")
	case len(d.Panels) > maxPanels:
		return fmt.Errorf("a dashboard has at most %d panels; this one has %d", maxPanels, len(d.Panels))
	}
	if d.Range == "" {
		d.Range = "1h"
	}
	if !ranges[d.Range] {
		return fmt.Errorf("range %q is not one of 5m, 15m, 1h, 3h, 6h, 12h, 1d, 3d, 7d, 30d", d.Range)
	}
	if d.Panels == nil {
		d.Panels = []Panel{}
	}
	for i, p := range d.Panels {
		if !panelTypes[p.Type] {
			return fmt.Errorf("panel %d: unknown type %q", i+1, p.Type)
		}
		if utf8.RuneCountInString(p.Title) > 200 {
			return fmt.Errorf("panel %d: title is longer than 200 characters", i+1)
		}
	}
	return nil
}

func (h *Handler) dashboardRoutes() {
	h.mux.HandleFunc("GET /api/dashboards", h.listDashboards)
	h.mux.HandleFunc("POST /api/dashboards", h.createDashboard)
	h.mux.HandleFunc("GET /api/dashboards/{id}", h.getDashboard)
	h.mux.HandleFunc("PUT /api/dashboards/{id}", h.putDashboard)
	h.mux.HandleFunc("DELETE /api/dashboards/{id}", h.deleteDashboard)
}

type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func fail(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

func (h *Handler) reply(w http.ResponseWriter, status int, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		var he *httpError
		if !errors.As(err, &he) {
			h.cfg.Logger.Error("dashboards API failed", "err", err)
			he = &httpError{status: http.StatusInternalServerError, msg: err.Error()}
		}
		w.WriteHeader(he.status)
		json.NewEncoder(w).Encode(map[string]string{"message": he.msg})
		return
	}
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		h.reply(w, 0, nil, err)
		return
	}
	w.WriteHeader(status)
	w.Write(b)
}

// seed saves the examples the first time the API is used on a store whose
// dashboard kind has never been seeded.
func (h *Handler) seed(ctx context.Context) error {
	h.seedMu.Lock()
	defer h.seedMu.Unlock()
	if h.seeded {
		return nil
	}
	objs := h.cfg.Objects
	if _, ok, err := objs.Get(ctx, kindUIMeta, "dashboards-seeded"); err != nil {
		return err
	} else if !ok {
		for _, d := range Examples() {
			if _, exists, err := objs.Get(ctx, kindDashboard, d.ID); err != nil {
				return err
			} else if exists {
				continue
			}
			d.Updated = h.cfg.Now().UTC()
			b, _ := json.Marshal(d)
			if err := objs.Put(ctx, kindDashboard, d.ID, b); err != nil {
				return err
			}
		}
		if err := objs.Put(ctx, kindUIMeta, "dashboards-seeded", []byte("1")); err != nil {
			return err
		}
	}
	h.seeded = true
	return nil
}

func (h *Handler) listDashboards(w http.ResponseWriter, r *http.Request) {
	if err := h.seed(r.Context()); err != nil {
		h.reply(w, 0, nil, err)
		return
	}
	out := []Dashboard{}
	var bad error
	err := h.cfg.Objects.List(r.Context(), kindDashboard, func(name string, value []byte) bool {
		var d Dashboard
		if err := json.Unmarshal(value, &d); err != nil {
			bad = fmt.Errorf("decode dashboard %q: %w", name, err)
			return false
		}
		out = append(out, d)
		return true
	})
	if err == nil {
		err = bad
	}
	h.reply(w, http.StatusOK, map[string]any{"dashboards": out}, err)
}

func (h *Handler) load(ctx context.Context, id string) (Dashboard, error) {
	if err := h.seed(ctx); err != nil {
		return Dashboard{}, err
	}
	var d Dashboard
	b, ok, err := h.cfg.Objects.Get(ctx, kindDashboard, id)
	if err != nil {
		return d, err
	}
	if !ok {
		return d, fail(http.StatusNotFound, "no dashboard %q", id)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("decode dashboard %q: %w", id, err)
	}
	return d, nil
}

func (h *Handler) getDashboard(w http.ResponseWriter, r *http.Request) {
	d, err := h.load(r.Context(), r.PathValue("id"))
	h.reply(w, http.StatusOK, d, err)
}

func readDashboard(r *http.Request) (Dashboard, error) {
	var d Dashboard
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return d, fail(http.StatusBadRequest, "read body: %v", err)
	}
	if len(b) > maxBody {
		return d, fail(http.StatusRequestEntityTooLarge, "a dashboard is at most %d bytes of JSON", maxBody)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, fail(http.StatusBadRequest, "body is not a dashboard: %v", err)
	}
	if err := d.validate(); err != nil {
		return d, fail(http.StatusBadRequest, "%v", err)
	}
	return d, nil
}

// slug makes an id from a name: lower-case letters and digits joined by "-".
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

func (h *Handler) createDashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d, err := readDashboard(r)
	if err == nil {
		err = h.seed(ctx)
	}
	if err != nil {
		h.reply(w, 0, nil, err)
		return
	}
	if d.ID != "" {
		if !idPattern.MatchString(d.ID) {
			h.reply(w, 0, nil, fail(http.StatusBadRequest, "id %q must be 1-64 lower-case letters, digits and dashes", d.ID))
			return
		}
		if _, ok, err := h.cfg.Objects.Get(ctx, kindDashboard, d.ID); err != nil || ok {
			if err == nil {
				err = fail(http.StatusConflict, "a dashboard %q exists; PUT /api/dashboards/%s replaces it", d.ID, d.ID)
			}
			h.reply(w, 0, nil, err)
			return
		}
	} else {
		base := slug(d.Name)
		if base == "" {
			base = "dashboard"
		}
		d.ID = base
		for i := 0; ; i++ {
			_, ok, err := h.cfg.Objects.Get(ctx, kindDashboard, d.ID)
			if err != nil {
				h.reply(w, 0, nil, err)
				return
			}
			if !ok {
				break
			}
			var rnd [3]byte
			rand.Read(rnd[:])
			d.ID = base + "-" + hex.EncodeToString(rnd[:])
		}
	}
	h.save(w, r, d, http.StatusCreated)
}

func (h *Handler) putDashboard(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		h.reply(w, 0, nil, fail(http.StatusBadRequest, "id %q must be 1-64 lower-case letters, digits and dashes", id))
		return
	}
	d, err := readDashboard(r)
	if err == nil {
		err = h.seed(r.Context())
	}
	if err != nil {
		h.reply(w, 0, nil, err)
		return
	}
	if d.ID != "" && d.ID != id {
		h.reply(w, 0, nil, fail(http.StatusBadRequest, "body id %q differs from the path's %q", d.ID, id))
		return
	}
	d.ID = id
	h.save(w, r, d, http.StatusOK)
}

func (h *Handler) save(w http.ResponseWriter, r *http.Request, d Dashboard, status int) {
	d.Updated = h.cfg.Now().UTC()
	b, err := json.Marshal(d)
	if err == nil {
		err = h.cfg.Objects.Put(r.Context(), kindDashboard, d.ID, b)
	}
	h.reply(w, status, d, err)
}

func (h *Handler) deleteDashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := h.seed(ctx); err != nil {
		h.reply(w, 0, nil, err)
		return
	}
	id := r.PathValue("id")
	ok, err := h.cfg.Objects.Delete(ctx, kindDashboard, id)
	if err == nil && !ok {
		err = fail(http.StatusNotFound, "no dashboard %q", id)
	}
	h.reply(w, 0, nil, err)
}
