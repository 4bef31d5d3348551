package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/fluoro-dev/fluoro/internal/store"
)

// objects implements store.Objects in the index database under prefix 0x05:
// key 0x05 | kind | 0x00 | name. Every write is synced before it returns.
type objects struct{ s *Store }

// Objects implements store.Store.
func (s *Store) Objects() store.Objects { return objects{s} }

func objectKey(kind, name string) ([]byte, error) {
	if kind == "" || name == "" || strings.IndexByte(kind, 0) >= 0 || strings.IndexByte(name, 0) >= 0 {
		return nil, fmt.Errorf("invalid object key %q/%q", kind, name)
	}
	k := make([]byte, 0, 2+len(kind)+len(name))
	k = append(k, prefixObject)
	k = append(k, kind...)
	k = append(k, 0)
	return append(k, name...), nil
}

func (o objects) Put(_ context.Context, kind, name string, value []byte) error {
	key, err := objectKey(kind, name)
	if err != nil {
		return err
	}
	done, err := o.s.use()
	if err != nil {
		return err
	}
	defer done()
	if err := o.s.index.Set(key, value, pebble.Sync); err != nil {
		return fmt.Errorf("put object: %w", err)
	}
	return nil
}

func (o objects) Get(_ context.Context, kind, name string) ([]byte, bool, error) {
	key, err := objectKey(kind, name)
	if err != nil {
		return nil, false, err
	}
	done, err := o.s.use()
	if err != nil {
		return nil, false, err
	}
	defer done()
	v, closer, err := o.s.index.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get object: %w", err)
	}
	defer closer.Close()
	return bytes.Clone(v), true, nil
}

func (o objects) Delete(ctx context.Context, kind, name string) (bool, error) {
	_, ok, err := o.Get(ctx, kind, name)
	if err != nil || !ok {
		return false, err
	}
	key, _ := objectKey(kind, name)
	done, err := o.s.use()
	if err != nil {
		return false, err
	}
	defer done()
	if err := o.s.index.Delete(key, pebble.Sync); err != nil {
		return false, fmt.Errorf("delete object: %w", err)
	}
	return true, nil
}

func (o objects) List(ctx context.Context, kind string, fn func(name string, value []byte) bool) error {
	if kind == "" || strings.IndexByte(kind, 0) >= 0 {
		return fmt.Errorf("invalid object kind %q", kind)
	}
	done, err := o.s.use()
	if err != nil {
		return err
	}
	defer done()
	lower := append(append([]byte{prefixObject}, kind...), 0)
	upper := append(append([]byte{prefixObject}, kind...), 1)
	it, err := o.s.index.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("list objects: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !fn(string(it.Key()[len(lower):]), it.Value()) {
			break
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("list objects: %w", err)
	}
	return nil
}
