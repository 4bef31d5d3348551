package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/store"
)

// objects checks Put, Get, Delete and List, and that kinds are disjoint even
// when one kind's name is a prefix of another's.
func (s suite) objects(t *testing.T) {
	st := s.openStore(t, "a")
	o := st.Objects()
	ctx := context.Background()
	put := func(kind, name, v string) {
		t.Helper()
		if err := o.Put(ctx, kind, name, []byte(v)); err != nil {
			t.Fatalf("Put(%q, %q): %v", kind, name, err)
		}
	}
	put("rule", "b", "1")
	put("rule", "a", "2")
	put("rule", "c", "3")
	put("rules", "a", "other kind")
	put("rul", "z", "prefix kind")
	put("rule", "b", "4") // replaces
	buf := []byte("mutable")
	if err := o.Put(ctx, "rule", "d", buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXX") // values are not retained

	v, ok, err := o.Get(ctx, "rule", "b")
	if err != nil || !ok || string(v) != "4" {
		t.Errorf("Get(rule, b) = %q, %v, %v; want \"4\", true, nil", v, ok, err)
	}
	if _, ok, err := o.Get(ctx, "rule", "missing"); ok || err != nil {
		t.Errorf("Get(rule, missing) = _, %v, %v; want false, nil", ok, err)
	}
	list := func(kind string) []string {
		t.Helper()
		var got []string
		if err := o.List(ctx, kind, func(name string, v []byte) bool {
			got = append(got, name+"="+string(v))
			return true
		}); err != nil {
			t.Fatalf("List(%q): %v", kind, err)
		}
		return got
	}
	want := []string{"a=2", "b=4", "c=3", "d=mutable"}
	if got := list("rule"); !slices.Equal(got, want) {
		t.Errorf("List(rule) = %q, want %q", got, want)
	}
	if got := list("rules"); !slices.Equal(got, []string{"a=other kind"}) {
		t.Errorf("List(rules) = %q", got)
	}
	if got := list("none"); len(got) != 0 {
		t.Errorf("List(none) = %q, want nothing", got)
	}
	n := 0
	if err := o.List(ctx, "rule", func(string, []byte) bool { n++; return false }); err != nil || n != 1 {
		t.Errorf("List stopped by fn: %d calls, err %v; want 1, nil", n, err)
	}
	if ok, err := o.Delete(ctx, "rule", "a"); !ok || err != nil {
		t.Errorf("Delete(rule, a) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := o.Delete(ctx, "rule", "a"); ok || err != nil {
		t.Errorf("second Delete(rule, a) = %v, %v; want false, nil", ok, err)
	}
	if got := list("rule"); !slices.Equal(got, []string{"b=4", "c=3", "d=mutable"}) {
		t.Errorf("List(rule) after Delete = %q", got)
	}
	if err := o.Put(ctx, "", "x", nil); err == nil {
		t.Errorf("Put with an empty kind succeeded")
	}
	if err := o.Put(ctx, "rule", "a\x00b", nil); err == nil {
		t.Errorf("Put with a NUL in the name succeeded")
	}
	v, _, _ = o.Get(ctx, "rule", "c")
	v[0] = 'Z' // returned values belong to the caller
	if v2, _, _ := o.Get(ctx, "rule", "c"); !bytes.Equal(v2, []byte("3")) {
		t.Errorf("Get returned a slice the store still uses: now %q", v2)
	}
}

// objectsPersist checks that objects survive a reopen and retention.
func (s suite) objectsPersist(t *testing.T) {
	st := s.openStore(t, "a")
	ctx := context.Background()
	if err := st.Objects().Put(ctx, "group", "g1", []byte(`{"x":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteBefore(ctx, ^uint32(0)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		t.Fatal(err)
	}
	st = s.openStore(t, "a")
	v, ok, err := st.Objects().Get(ctx, "group", "g1")
	if err != nil || !ok || string(v) != `{"x":1}` {
		t.Errorf("after reopen and DeleteBefore: Get = %q, %v, %v", v, ok, err)
	}
}
