package sampling

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/store/embedded"
)

// TestServiceConcurrentCreates: creates racing for the last places of the
// rule limit never exceed it, and every refusal is RuleLimitExceeded; the
// stored rules are what a reopened Service serves.
func TestServiceConcurrentCreates(t *testing.T) {
	dir := t.TempDir()
	st, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{epoch}
	svc, err := Open(context.Background(), Config{Objects: st.Objects(), Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, limited := 0, 0
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := DefaultRule()
			r.RuleName, r.Priority = fmt.Sprintf("r%02d", i), 1+i
			_, err := svc.Create(context.Background(), r, "", nil)
			var e *Error
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case errors.As(err, &e) && e.Code == CodeRuleLimit:
				limited++
			default:
				t.Errorf("create %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if created != MaxRules || limited != 40-MaxRules {
		t.Errorf("%d created, %d refused by the limit; want %d and %d", created, limited, MaxRules, 40-MaxRules)
	}
	if n := len(svc.Rules()); n != MaxRules+1 {
		t.Errorf("%d rules served, want %d", n, MaxRules+1)
	}
	if _, err := svc.Delete(context.Background(), ptr(DefaultRuleName), nil); err == nil {
		t.Error("deleting Default succeeded")
	}
	want := fmt.Sprint(svc.Records())
	st.Close()

	st, err = embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock.t = clock.t.Add(time.Hour)
	svc, err = Open(context.Background(), Config{Objects: st.Objects(), Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(svc.Records()); got != want {
		t.Errorf("after reopening:\n got %s\nwant %s", got, want)
	}
	if got := svc.LastRuleModification(); !got.Equal(clock.t) {
		t.Errorf("LastRuleModification after reopening = %v, want the start %v", got, clock.t)
	}
}

func ptr[T any](v T) *T { return &v }
