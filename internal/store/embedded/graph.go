package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/fluoro-dev/fluoro/internal/store"
)

// graphKey is the key of a service-graph bucket in the index database:
// 0x06 | start (4 bytes, big endian) | group. Buckets sort by time first,
// so DeleteBefore drops expired ones with one range deletion.
func graphKey(dst []byte, start uint32, group string) []byte {
	dst = epochKey(prefixGraph, start)
	return append(dst, group...)
}

func checkGroup(group string) error {
	if group == "" || strings.IndexByte(group, 0) >= 0 {
		return fmt.Errorf("invalid graph bucket group %q", group)
	}
	return nil
}

// PutGraphBuckets implements store.Store.
func (s *Store) PutGraphBuckets(_ context.Context, buckets []store.GraphBucket) error {
	for _, b := range buckets {
		if err := checkGroup(b.Group); err != nil {
			return err
		}
	}
	done, err := s.use()
	if err != nil {
		return err
	}
	defer done()
	batch := s.index.NewBatch()
	defer batch.Close()
	for _, b := range buckets {
		if err := batch.Set(graphKey(nil, b.Start, b.Group), b.Data, nil); err != nil {
			return fmt.Errorf("put graph buckets: %w", err)
		}
	}
	if err := batch.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("put graph buckets: %w", err)
	}
	return nil
}

// GraphBuckets implements store.Store.
func (s *Store) GraphBuckets(ctx context.Context, group string, from, to uint32, fn func(store.GraphBucket) bool) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	if to <= from {
		return nil
	}
	done, err := s.use()
	if err != nil {
		return err
	}
	defer done()
	it, err := s.index.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: epochKey(prefixGraph, from),
		UpperBound: epochKey(prefixGraph, to),
	})
	if err != nil {
		return fmt.Errorf("scan graph buckets: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) < 5 || !bytes.Equal(k[5:], []byte(group)) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("scan graph buckets: %w", err)
		}
		if !fn(store.GraphBucket{Start: binary.BigEndian.Uint32(k[1:5]), Group: group, Data: v}) {
			break
		}
	}
	return it.Error()
}
