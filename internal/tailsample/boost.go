package tailsample

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fluoro-dev/fluoro/internal/sampling"
	"github.com/fluoro-dev/fluoro/internal/store"
)

// BoostKind is the store.Objects kind boosts are persisted under.
const BoostKind = "sampling-boost"

// MaxBoost is the longest a boost may last.
const MaxBoost = 7 * 24 * time.Hour

// Boost is a temporary higher sampling rate: until Expires, traces not kept
// by an always-keep policy are kept at Rate when it is above the current
// rate. With Service (an X-Ray wildcard pattern) it applies only to traces
// with a segment of a matching service.
type Boost struct {
	ID      string    `json:"id"`
	Rate    float64   `json:"rate"`
	Service string    `json:"service,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
}

func (b *Boost) applies(f *facts) bool {
	if b.Service == "" {
		return true
	}
	for _, s := range f.segments {
		if sampling.Match(b.Service, s.service) {
			return true
		}
	}
	return false
}

// BoostRequest asks for a boost of Rate lasting Duration.
type BoostRequest struct {
	Rate     float64
	Duration time.Duration
	Service  string
	Reason   string
}

// ErrInvalid wraps a boost request's validation error; ErrNotFound is
// returned for an unknown boost id.
var (
	ErrInvalid  = errors.New("invalid boost")
	ErrNotFound = errors.New("no such boost")
)

// boosts holds the active boosts, persisted in a store's Objects (when
// there is one) so that they survive restarts.
type boosts struct {
	objs store.Objects // nil: in memory only
	now  func() time.Time
	mu   sync.RWMutex
	list []Boost // sorted by Created
}

func loadBoosts(ctx context.Context, objs store.Objects, now func() time.Time) (*boosts, error) {
	bs := &boosts{objs: objs, now: now}
	if objs == nil {
		return bs, nil
	}
	var bad []string
	err := objs.List(ctx, BoostKind, func(name string, value []byte) bool {
		var b Boost
		if json.Unmarshal(value, &b) != nil || b.ID != name {
			bad = append(bad, name)
			return true
		}
		bs.list = append(bs.list, b)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("load sampling boosts: %w", err)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("load sampling boosts: corrupt boost objects %s", strings.Join(bad, ", "))
	}
	slices.SortFunc(bs.list, func(a, b Boost) int { return a.Created.Compare(b.Created) })
	bs.prune(ctx)
	return bs, nil
}

// add validates and stores a new boost.
func (bs *boosts) add(ctx context.Context, r BoostRequest) (Boost, error) {
	switch {
	case !(r.Rate > 0 && r.Rate <= 1):
		return Boost{}, fmt.Errorf("%w: rate %v is not in (0, 1]", ErrInvalid, r.Rate)
	case r.Duration <= 0:
		return Boost{}, fmt.Errorf("%w: duration must be positive", ErrInvalid)
	case r.Duration > MaxBoost:
		return Boost{}, fmt.Errorf("%w: duration %v is longer than the maximum of %v", ErrInvalid, r.Duration, MaxBoost)
	case len(r.Service) > 256 || len(r.Reason) > 1024:
		return Boost{}, fmt.Errorf("%w: service is limited to 256 bytes and reason to 1024", ErrInvalid)
	}
	var id [8]byte
	rand.Read(id[:])
	now := bs.now().UTC()
	b := Boost{ID: hex.EncodeToString(id[:]), Rate: r.Rate, Service: r.Service, Reason: r.Reason,
		Created: now, Expires: now.Add(r.Duration)}
	if bs.objs != nil {
		v, _ := json.Marshal(b)
		if err := bs.objs.Put(ctx, BoostKind, b.ID, v); err != nil {
			return Boost{}, fmt.Errorf("store boost: %w", err)
		}
	}
	bs.mu.Lock()
	bs.list = append(bs.list, b)
	bs.mu.Unlock()
	return b, nil
}

// remove ends a boost before its expiry.
func (bs *boosts) remove(ctx context.Context, id string) (Boost, error) {
	bs.mu.Lock()
	i := slices.IndexFunc(bs.list, func(b Boost) bool { return b.ID == id })
	if i < 0 {
		bs.mu.Unlock()
		return Boost{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	b := bs.list[i]
	bs.list = slices.Delete(bs.list, i, i+1)
	bs.mu.Unlock()
	if bs.objs != nil {
		if _, err := bs.objs.Delete(ctx, BoostKind, id); err != nil {
			return Boost{}, fmt.Errorf("delete boost: %w", err)
		}
	}
	return b, nil
}

// active appends the boosts in force now to dst.
func (bs *boosts) active(dst []Boost) []Boost {
	now := bs.now()
	bs.mu.RLock()
	defer bs.mu.RUnlock()
	for _, b := range bs.list {
		if now.Before(b.Expires) {
			dst = append(dst, b)
		}
	}
	return dst
}

// prune forgets and deletes expired boosts.
func (bs *boosts) prune(ctx context.Context) {
	now := bs.now()
	var gone []string
	bs.mu.Lock()
	bs.list = slices.DeleteFunc(bs.list, func(b Boost) bool {
		if now.Before(b.Expires) {
			return false
		}
		gone = append(gone, b.ID)
		return true
	})
	bs.mu.Unlock()
	if bs.objs != nil {
		for _, id := range gone {
			bs.objs.Delete(ctx, BoostKind, id) // a failure leaves an expired boost, pruned again at the next start
		}
	}
}
